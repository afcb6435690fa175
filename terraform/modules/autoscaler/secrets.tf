# Generated secrets: nothing secret is typed in.

resource "random_password" "grafana_admin" {
  length  = 24
  special = false
}

resource "random_password" "scaler_token" {
  length  = 40
  special = false
}
