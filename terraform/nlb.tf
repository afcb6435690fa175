# Network load balancer: port 80 to the pool's 8080, HTTP health check on /health.

resource "exoscale_nlb" "app" {
  zone        = var.zone
  name        = "${local.name}-nlb"
  description = "Entry point of the autoscaled app"
  labels      = { deployment = local.name }
}

resource "exoscale_nlb_service" "http" {
  zone             = var.zone
  name             = "http"
  description      = "HTTP to http-load-generator"
  nlb_id           = exoscale_nlb.app.id
  instance_pool_id = exoscale_instance_pool.app.id
  protocol         = "tcp"
  port             = 80
  target_port      = 8080
  strategy         = "round-robin"

  healthcheck {
    mode     = "http"
    port     = 8080
    uri      = "/health"
    interval = 5
    timeout  = 3
    retries  = 1
  }
}
