# The pool's security group: 8080 for clients and NLB health checks, SSH from admin_cidrs. The
# autoscaler module adds 9100 from the monitoring VM's group only, and owns that group's rules.

resource "exoscale_security_group" "pool" {
  name        = "${local.name}-pool"
  description = "Pool members of ${local.name}"
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
