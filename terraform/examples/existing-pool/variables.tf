# Parsed by terraform 1.0 as well (the offline tests plan a copy of this file): no optional(), no
# nullable, and each validation reads only its own variable. terraform/modules/autoscaler validates
# the rest (bounds, step, cooldown, demand, the pools' instance types) at plan.

variable "exoscale_key" {
  description = "Exoscale API key used by terraform (rights to read the pools and create the monitoring VM, a security group and its rules, an IAM role and key, an SOS bucket)."
  type        = string
  sensitive   = true
}

variable "exoscale_secret" {
  description = "Secret of exoscale_key."
  type        = string
  sensitive   = true
}

variable "zone" {
  description = "Zone of the pools; the monitoring VM and the bucket go there too (only zones with an SOS endpoint)."
  type        = string
  default     = "at-vie-1"

  validation {
    condition     = contains(["at-vie-1", "at-vie-2", "bg-sof-1", "ch-dk-2", "ch-gva-2", "de-fra-1", "de-muc-1"], var.zone)
    error_message = "The zone must have an SOS endpoint for the state bucket: at-vie-1, at-vie-2, bg-sof-1, ch-dk-2, ch-gva-2, de-fra-1 or de-muc-1 (hr-zag-1 has compute but no SOS endpoint)."
  }
}

variable "name_prefix" {
  description = "Prefix of the autoscaler's resource names (a random suffix keeps the bucket name unique)."
  type        = string
  default     = "autoscaler"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,31}$", var.name_prefix))
    error_message = "Use 2-32 lower-case letters, digits or dashes, starting with a letter."
  }
}

variable "pools" {
  description = "The existing pools to scale, by the name the autoscaler gives them (^[a-z][a-z0-9_-]{0,31}$, 1 to 20). Each: name_or_id (the pool's UUID, or its name in the zone, which must match exactly one pool), min_size and max_size (hard bounds), max_step and cooldown_s (null: the handlers' defaults), demand (\"in_flight\" or \"cpu\"). The instance type is read from the pool."
  type = map(object({
    name_or_id = string
    min_size   = number
    max_size   = number
    max_step   = number
    cooldown_s = number
    demand     = string
  }))

  validation {
    condition     = length(var.pools) >= 1 && length(var.pools) <= 20
    error_message = "Give 1 to 20 pools."
  }
  validation {
    condition     = alltrue([for name in keys(var.pools) : can(regex("^[a-z][a-z0-9_-]{0,31}$", name))])
    error_message = "Each pool's name (its key) must match ^[a-z][a-z0-9_-]{0,31}$."
  }
  validation {
    condition     = alltrue([for pool in values(var.pools) : trimspace(pool.name_or_id) != ""])
    error_message = "Each pool needs its name_or_id: the pool's UUID or its name."
  }
}

variable "admin_cidrs" {
  description = "Source CIDRs allowed to reach Grafana (3000), Prometheus (9090) and SSH (22) on the monitoring VM."
  type        = list(string)
}

variable "monitoring_instance_type" {
  description = "Instance type of the monitoring VM (Prometheus, Grafana, handlers)."
  type        = string
  default     = "standard.small"
}

variable "ssh_key_name" {
  description = "Name of an existing Exoscale SSH key authorized on the monitoring VM; empty means none."
  type        = string
  default     = ""
}

variable "operator_webhook_url" {
  description = "Optional URL that receives the self-monitoring warnings as Grafana webhook JSON. Empty: they show on the dashboard's alert list only."
  type        = string
  default     = ""
  sensitive   = true
}
