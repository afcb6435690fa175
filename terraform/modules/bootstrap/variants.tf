# The scale-up rule per kind of demand (the pools' `demand`), as bootstrap/render.py for_pools
# renders it for Prometheus. One kind: one rule per alert, unrestricted, sending that kind's demand
# signal. Several: the scale-up rule once per kind, its queries restricted to the kind's pools; the
# in-flight one keeps the uid and title, the CPU-bound one gets "-cpu" / "Cpu" (Grafana wants rule
# titles unique in a folder).

locals {
  demand_signals    = { in_flight = "demand", cpu = "demand_cpu_bound" }
  demand_kinds      = sort(distinct([for p in values(var.pools) : p.demand]))
  mixed_demand      = length(local.demand_kinds) > 1
  pool_job_selector = "job=\"pool\""

  rule_variants = flatten([
    for alert in local.alert_spec.alerts : [
      for kind in(lookup(alert.labels, "scale", "") == "up" ? local.demand_kinds : ["-"]) : {
        alert         = alert
        uid           = local.mixed_demand && kind == "cpu" ? "${alert.uid}-cpu" : alert.uid
        title         = local.mixed_demand && kind == "cpu" ? "${alert.name}Cpu" : alert.name
        demand_signal = kind == "-" ? lookup(alert, "demand_signal", null) : local.demand_signals[kind]
        # render.py with_demand_signal: the kind's own trend when the spec has one
        trend_signal = kind == "-" || !contains(keys(local.alert_spec.signals), "${lookup(local.demand_signals, kind, "-")}_trend") ? lookup(alert, "trend_signal", null) : "${local.demand_signals[kind]}_trend"
        # the scaler reads scale_cpu beside requests in flight only
        cpu_signal = kind == "cpu" ? null : lookup(alert, "cpu_signal", null)
        selector   = local.mixed_demand && kind != "-" ? "${local.pool_job_selector},pool=~\"${join("|", [for name in local.pool_names : name if var.pools[name].demand == kind])}\"" : ""
      }
    ]
  ])

  # The dashboard's demand panel: what each scale-up rule sends as scale_value, for its own pools.
  up_variants = [for rule in local.rule_variants : rule if lookup(rule.alert.labels, "scale", "") == "up"]
  demand_panel_expr = join(" or ", [
    for rule in local.up_variants : length(local.up_variants) == 1 ? local.alert_signals[rule.demand_signal] : "(${replace(local.alert_signals[rule.demand_signal], local.pool_job_selector, rule.selector)})"
  ])
}
