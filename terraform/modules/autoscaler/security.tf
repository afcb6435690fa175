# The monitoring VM's security group (Grafana, Prometheus and SSH only from admin_cidrs; the
# receiver, 8090, listens on loopback and has no rule at all), and node exporter (9100) on the
# pools' members opened to that group only.

resource "exoscale_security_group" "monitoring" {
  name        = "${var.name}-monitoring"
  description = "Monitoring VM of ${var.name}"
}

locals {
  admin_ports = { grafana = 3000, prometheus = 9090, ssh = 22 }
  monitoring_admin_rules = {
    for pair in setproduct(keys(local.admin_ports), var.admin_cidrs) :
    "${pair[0]}-${pair[1]}" => { port = local.admin_ports[pair[0]], cidr = pair[1] }
  }
}

resource "exoscale_security_group_rule" "monitoring_admin" {
  for_each = local.monitoring_admin_rules

  security_group_id = exoscale_security_group.monitoring.id
  description       = "Grafana, Prometheus and SSH from admin networks"
  type              = "INGRESS"
  protocol          = "TCP"
  cidr              = each.value.cidr
  start_port        = each.value.port
  end_port          = each.value.port
}

# Prometheus scrapes every member, and a scale-down reads each member's requests in flight from it.
# Keyed by the caller's names, not the ids: an id created by the same apply is unknown at plan.
resource "exoscale_security_group_rule" "scrape" {
  for_each = var.scrape_security_group_ids

  security_group_id      = each.value
  description            = "node exporter, scraped by the monitoring VM only"
  type                   = "INGRESS"
  protocol               = "TCP"
  user_security_group_id = exoscale_security_group.monitoring.id
  start_port             = 9100
  end_port               = 9100
}
