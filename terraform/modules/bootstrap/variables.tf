variable "zone" {
  description = "Exoscale zone of the deployment, e.g. at-vie-1."
  type        = string
}

variable "pools" {
  description = "The pools the scaler manages, by name (the alerts' `pool` label): id, hard size bounds, max_step and cooldown_s (null = the handlers' default), the members' instance type in the functions' price table, and demand: \"in_flight\" (requests in flight from node exporter's netstat, for http-load-generator) or \"cpu\" (CPU, then load per core once saturated). One pool is written as INSTANCEPOOL_ID and INSTANCEPOOL_NAME, several as INSTANCEPOOLS."
  # terraform 1.0 has no optional(): every attribute must be given, null where the default applies.
  type = map(object({
    id            = string
    min_size      = number
    max_size      = number
    max_step      = number
    cooldown_s    = number
    instance_type = string
    demand        = string
  }))

  validation {
    condition     = length(var.pools) >= 1 && length(var.pools) <= 20
    error_message = "The pools map must name 1 to 20 pools."
  }
  validation {
    condition     = alltrue([for name in keys(var.pools) : can(regex("^[a-z][a-z0-9_-]{0,31}$", name))])
    error_message = "Every pool name must match ^[a-z][a-z0-9_-]{0,31}$ (the handlers' pool names)."
  }
  validation {
    condition     = alltrue([for p in values(var.pools) : contains(["in_flight", "cpu"], p.demand)])
    error_message = "Every pool's demand must be \"in_flight\" or \"cpu\"."
  }
  validation {
    condition     = alltrue([for p in values(var.pools) : p.min_size >= 1 && p.max_size >= p.min_size])
    error_message = "Every pool needs 1 <= min_size <= max_size."
  }
}

variable "sos_bucket" {
  description = "Name of the SOS state bucket."
  type        = string
}

variable "artifact_key" {
  description = "Object key of the functions zip in the state bucket."
  type        = string
}

variable "scaler_key" {
  description = "Restricted Exoscale API key for the handlers (also their SOS credential)."
  type        = string
  sensitive   = true
}

variable "scaler_secret" {
  description = "Secret of the restricted Exoscale API key."
  type        = string
  sensitive   = true
}

variable "scaler_token" {
  description = "Bearer token the receiver requires and Grafana's contact point sends."
  type        = string
  sensitive   = true
}

variable "grafana_admin_password" {
  description = "Initial password of Grafana's admin user."
  type        = string
  sensitive   = true
}

variable "grafana_version" {
  description = "Grafana package version installed (and held) from Grafana's apt repository; the provisioning and the webhook fixtures in tests/fixtures were checked against it."
  type        = string
  default     = "12.4.3"
}

variable "operator_webhook_url" {
  description = "Where Grafana sends the self-monitoring warnings for a person (any receiver of Grafana's webhook JSON); empty = Grafana's no-op webhook, the warnings then show on the dashboard's alert list only."
  type        = string
  default     = ""
  sensitive   = true
}
