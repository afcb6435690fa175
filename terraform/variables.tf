variable "exoscale_key" {
  description = "Exoscale API key used by terraform (needs rights to create everything in this module)."
  type        = string
  sensitive   = true
}

variable "exoscale_secret" {
  description = "Secret of exoscale_key."
  type        = string
  sensitive   = true
}

variable "zone" {
  description = "Exoscale zone for every resource; only zones with an SOS endpoint (the state bucket lives there)."
  type        = string
  default     = "at-vie-1"

  # Exoscale's SOS endpoint list (https://community.exoscale.com/api/sos/) names these seven zones;
  # hr-zag-1 runs compute but has no SOS endpoint there, so the bucket could not be created.
  validation {
    condition     = contains(["at-vie-1", "at-vie-2", "bg-sof-1", "ch-dk-2", "ch-gva-2", "de-fra-1", "de-muc-1"], var.zone)
    error_message = "The zone must have an SOS endpoint for the state bucket: at-vie-1, at-vie-2, bg-sof-1, ch-dk-2, ch-gva-2, de-fra-1 or de-muc-1 (hr-zag-1 has compute but no SOS endpoint)."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (a random suffix keeps the bucket name unique)."
  type        = string
  default     = "autoscaler"

  # The pool's instance prefix is "<name_prefix>-<8 hex>-app" and the API limits it to 30 characters
  # (`instance-prefix` maxLength in the exoscale package's openapi.json): 30 - 13 = 17.
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,16}$", var.name_prefix))
    error_message = "Use 2-17 lower-case letters, digits or dashes, starting with a letter (the pool's instance prefix <name_prefix>-<8 hex>-app is limited to 30 characters)."
  }
}

variable "pool_min_size" {
  description = "Smallest pool size the scaler allows (SCALER_MIN_SIZE)."
  type        = number
  default     = 1

  validation {
    condition     = var.pool_min_size >= 1
    error_message = "The smallest pool size (pool_min_size) must be at least 1."
  }
}

variable "pool_max_size" {
  description = "Largest pool size the scaler allows (SCALER_MAX_SIZE)."
  type        = number
  default     = 4
}

variable "pool_initial_size" {
  description = "Pool size at creation; afterwards the scaler owns the size (terraform ignores it)."
  type        = number
  default     = 1
}

variable "pool_instance_type" {
  description = "Instance type of the pool members."
  type        = string
  default     = "standard.tiny"
}

variable "monitoring_instance_type" {
  description = "Instance type of the monitoring VM (Prometheus, Grafana, handlers)."
  type        = string
  default     = "standard.small"
}

variable "disk_size" {
  description = "Disk size in GiB of every VM (at least 10)."
  type        = number
  default     = 10

  validation {
    condition     = var.disk_size >= 10
    error_message = "The disk size (disk_size) must be at least 10 GiB."
  }
}

variable "admin_cidrs" {
  description = "Source CIDRs allowed to reach Grafana (3000), Prometheus (9090) and SSH (22). The default is open so a checker from anywhere can reach them; narrow it for anything but a demo."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "ssh_public_key" {
  description = "Optional OpenSSH public key authorized on every VM; empty means no SSH key."
  type        = string
  default     = ""
}

variable "scaler_policy" {
  description = "Scaling policy of the tick: proportional (sizes the pool to the measured demand; the benchmarked default) or step (±1 per tick)."
  type        = string
  default     = "proportional"

  validation {
    condition     = contains(["step", "proportional"], var.scaler_policy)
    error_message = "The scaling policy (scaler_policy) must be step or proportional."
  }
}

variable "operator_webhook_url" {
  description = "Optional URL that receives the self-monitoring warnings (stale tick or discovery, pool at maximum) as Grafana webhook JSON, for a person to read. Empty: they show on the dashboard's alert list only."
  type        = string
  default     = ""
  sensitive   = true
}
