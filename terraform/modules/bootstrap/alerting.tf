# Grafana unified alerting, rendered from the single alert spec bootstrap/alerting/alerts.json
# (the same file bootstrap/render.py turns into the sandbox's Prometheus rules).

locals {
  bootstrap_dir = "${path.module}/../../../bootstrap"
  alert_spec    = jsondecode(file("${local.bootstrap_dir}/alerting/alerts.json"))

  receiver_port        = 8090
  receiver_webhook_url = "http://127.0.0.1:${local.receiver_port}/webhook"
  datasource_uid       = "prometheus"
  contact_point_name   = "autoscaler-webhook"
  operator_point_name  = "autoscaler-operator"
  # grafana/alerting receivers/webhook/v1: this URL makes the webhook a no-op (sends nothing).
  operator_url = var.operator_webhook_url != "" ? var.operator_webhook_url : "grafana://noop"
  notification = local.alert_spec.notification

  grafana_ops = { ">" = "gt", "<" = "lt" }

  # Signals with their `${name}` placeholders filled in as bootstrap/render.py fills them: a
  # threshold by its value, a signal by its query in parentheses. Terraform >= 1.0 has no
  # templatestring() and PromQL never uses `$`, so split on it; each pass substitutes the previous
  # pass's results, so two passes resolve three levels of signals naming signals (render.py
  # MAX_SIGNAL_DEPTH refuses more).
  thresholds = { for name, value in local.alert_spec.thresholds : name => format("%v", value) }
  signals_1 = {
    for name, expr in local.alert_spec.signals : name => join("", [
      for i, part in split("$", expr) : i == 0 ? part : format("%s%s",
        lookup(local.thresholds, regex("^[{](\\w+)[}]", part)[0], "(${lookup(local.alert_spec.signals, regex("^[{](\\w+)[}]", part)[0], "")})"),
      trimprefix(part, regex("^[{]\\w+[}]", part)))
    ])
  }
  alert_signals = {
    for name, expr in local.signals_1 : name => join("", [
      for i, part in split("$", expr) : i == 0 ? part : format("%s%s",
        lookup(local.thresholds, regex("^[{](\\w+)[}]", part)[0], "(${lookup(local.signals_1, regex("^[{](\\w+)[}]", part)[0], "")})"),
      trimprefix(part, regex("^[{]\\w+[}]", part)))
    ])
  }

  grafana_rules = [
    # refIds: A the signal, B demand (scale_value), C members (scale_members), D the threshold,
    # E the demand trend (scale_trend), F the pool's CPU beside the demand (scale_cpu).
    for rule in local.rule_variants : {
      uid       = rule.uid
      title     = rule.title
      condition = "D"
      data = concat(
        [
          for query in [
            ["A", rule.alert.signal],
            ["B", rule.demand_signal],
            ["C", lookup(rule.alert, "members_signal", null)],
            ["E", rule.trend_signal],
            ["F", rule.cpu_signal],
            ] : {
            refId             = query[0]
            relativeTimeRange = { from = 300, to = 0 }
            datasourceUid     = local.datasource_uid
            model = {
              refId   = query[0]
              expr    = rule.selector == "" ? local.alert_signals[query[1]] : replace(local.alert_signals[query[1]], local.pool_job_selector, rule.selector)
              instant = true
              range   = false
            }
          } if query[1] != null
        ],
        [{
          refId             = "D"
          relativeTimeRange = { from = 0, to = 0 }
          datasourceUid     = "__expr__"
          model = {
            refId      = "D"
            type       = "threshold"
            expression = "A"
            datasource = { type = "__expr__", uid = "__expr__" }
            conditions = [{
              evaluator = {
                type   = local.grafana_ops[rule.alert.op]
                params = [local.alert_spec.thresholds[rule.alert.threshold]]
              }
            }]
          }
        }],
      )
      noDataState  = "OK"
      execErrState = "OK"
      for          = rule.alert["for"]
      labels       = rule.alert.labels
      annotations = merge(
        { summary = rule.alert.summary },
        rule.demand_signal == null ? {} : { scale_value = "{{ printf \"%.3f\" $values.B.Value }}" },
        lookup(rule.alert, "members_signal", null) == null ? {} : { scale_members = "{{ printf \"%.0f\" $values.C.Value }}" },
        rule.trend_signal == null ? {} : { scale_trend = "{{ printf \"%.5f\" $values.E.Value }}" },
        rule.cpu_signal == null ? {} : { scale_cpu = "{{ printf \"%.3f\" $values.F.Value }}" },
      )
      isPaused = false
    }
  ]

  grafana_alerting = {
    apiVersion = 1
    groups = [{
      orgId    = 1
      name     = "autoscaler"
      folder   = "Autoscaler"
      interval = local.alert_spec.evaluation_interval
      rules    = local.grafana_rules
    }]
    contactPoints = [
      {
        orgId = 1
        name  = local.contact_point_name
        receivers = [{
          uid                   = local.contact_point_name
          type                  = "webhook"
          disableResolveMessage = false
          settings = {
            url                       = local.receiver_webhook_url
            httpMethod                = "POST"
            maxAlerts                 = 0
            authorization_scheme      = "Bearer"
            authorization_credentials = var.scaler_token
          }
        }]
      },
      {
        orgId = 1
        name  = local.operator_point_name
        receivers = [{
          uid                   = local.operator_point_name
          type                  = "webhook"
          disableResolveMessage = false
          settings              = { url = local.operator_url, httpMethod = "POST" }
        }]
      },
    ]
    # The root policy is the scaler's (short intervals, alerts.json notification); self-monitoring
    # warnings match the child policy and go to a person instead, re-sent hourly.
    policies = [{
      orgId           = 1
      receiver        = local.contact_point_name
      group_by        = local.notification.group_by
      group_wait      = local.notification.group_wait
      group_interval  = local.notification.group_interval
      repeat_interval = local.notification.repeat_interval
      routes = [{
        receiver        = local.operator_point_name
        object_matchers = local.notification.operator.matchers
        group_by        = local.notification.operator.group_by
        group_wait      = local.notification.operator.group_wait
        group_interval  = local.notification.operator.group_interval
        repeat_interval = local.notification.operator.repeat_interval
      }]
    }]
  }

  grafana_alerting_yaml = yamlencode(local.grafana_alerting)

  # The CPU and in-flight panels average over the alerts' own rate window (the cpu signal's [..]),
  # so a panel crosses its threshold line when the alert's expression does.
  dashboard_json = templatefile("${local.bootstrap_dir}/grafana/dashboards/autoscaler.json.tftpl", {
    scale_up_cpu   = local.alert_spec.thresholds.scale_up_cpu
    scale_down_cpu = local.alert_spec.thresholds.scale_down_cpu
    demand_expr    = local.demand_panel_expr
    rate_window    = regex("\\[(\\w+)\\]", local.alert_spec.signals.cpu)[0]
  })
}
