variable "zone" {
  description = "Exoscale zone of the deployment, e.g. at-vie-1."
  type        = string
}

variable "instance_pool_id" {
  description = "ID of the instance pool the scaler manages."
  type        = string
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

variable "scaler_min_size" {
  description = "Hard lower bound of the pool size (SCALER_MIN_SIZE)."
  type        = number
}

variable "scaler_max_size" {
  description = "Hard upper bound of the pool size (SCALER_MAX_SIZE)."
  type        = number
}

variable "pool_instance_type" {
  description = "Instance type of the pool members, priced from the functions' price table (SCALER_INSTANCE_TYPE)."
  type        = string
  default     = "standard.tiny"
}

variable "load_generator_image" {
  description = "Container image the pool members run on port 8080."
  type        = string
  default     = "quay.io/janoszen/http-load-generator:1.0.1"
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
