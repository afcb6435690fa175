# Security groups. Pool: 8080 for clients and NLB health checks, 9100 only from the monitoring VM.
# Monitoring VM: Grafana, Prometheus and SSH only from admin_cidrs. The receiver (8090) listens on
# loopback and has no rule at all.

resource "exoscale_security_group" "pool" {
  name        = "${local.name}-pool"
  description = "Pool members of ${local.name}"
}

resource "exoscale_security_group" "monitoring" {
  name        = "${local.name}-monitoring"
  description = "Monitoring VM of ${local.name}"
}

# The NLB keeps client source addresses, so the app port is open to clients.
resource "exoscale_security_group_rule" "pool_http_clients" {
  security_group_id = exoscale_security_group.pool.id
  description       = "http-load-generator for clients behind the NLB"
  type              = "INGRESS"
  protocol          = "TCP"
  cidr              = "0.0.0.0/0"
  start_port        = 8080
  end_port          = 8080
}

resource "exoscale_security_group_rule" "pool_http_healthcheck" {
  security_group_id     = exoscale_security_group.pool.id
  description           = "NLB health checks"
  type                  = "INGRESS"
  protocol              = "TCP"
  public_security_group = "public-nlb-healthcheck-sources"
  start_port            = 8080
  end_port              = 8080
}

resource "exoscale_security_group_rule" "pool_node_exporter" {
  security_group_id      = exoscale_security_group.pool.id
  description            = "node exporter, scraped by the monitoring VM only"
  type                   = "INGRESS"
  protocol               = "TCP"
  user_security_group_id = exoscale_security_group.monitoring.id
  start_port             = 9100
  end_port               = 9100
}

resource "exoscale_security_group_rule" "pool_ssh" {
  for_each = toset(var.admin_cidrs)

  security_group_id = exoscale_security_group.pool.id
  description       = "SSH from admin networks"
  type              = "INGRESS"
  protocol          = "TCP"
  cidr              = each.value
  start_port        = 22
  end_port          = 22
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
