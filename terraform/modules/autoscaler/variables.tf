# Parsed by terraform 1.0 as well (the offline tests plan a copy of this file): no optional(), no
# nullable, and each validation reads only its own variable.

variable "zone" {
  description = "Exoscale zone of the pools, the monitoring VM and the bucket; only zones with an SOS endpoint."
  type        = string

  # Exoscale's SOS endpoint list (https://community.exoscale.com/api/sos/) names these seven zones;
  # hr-zag-1 runs compute but has no SOS endpoint there, so the bucket could not be created.
  validation {
    condition     = contains(["at-vie-1", "at-vie-2", "bg-sof-1", "ch-dk-2", "ch-gva-2", "de-fra-1", "de-muc-1"], var.zone)
    error_message = "The zone must have an SOS endpoint for the state bucket: at-vie-1, at-vie-2, bg-sof-1, ch-dk-2, ch-gva-2, de-fra-1 or de-muc-1 (hr-zag-1 has compute but no SOS endpoint)."
  }
}

variable "name" {
  description = "Name of this deployment, unique in the account: the prefix of every resource name (the bucket is <name>-state, so it must be unique across SOS)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "Use 2-41 lower-case letters, digits or dashes, starting with a letter (the bucket <name>-state must stay a valid bucket name)."
  }
}

variable "pools" {
  description = "The pools to scale, by name (the `pool` label of their targets and alerts: ^[a-z][a-z0-9_-]{0,31}$, 1 to 20). Each: id (UUID), min_size and max_size (hard bounds), max_step (most members one tick adds or removes) and cooldown_s (no scale-down sooner after an action), each null for the handlers' default (4, 120 s), instance_type (priced by functions/common/prices.json), demand (\"in_flight\": requests in flight from node exporter's netstat, or \"cpu\": CPU, then load per core once saturated)."
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
    error_message = "Give 1 to 20 pools."
  }
  validation {
    condition     = alltrue([for name in keys(var.pools) : can(regex("^[a-z][a-z0-9_-]{0,31}$", name))])
    error_message = "Each pool's name (its key) must match ^[a-z][a-z0-9_-]{0,31}$."
  }
  # An id computed by the same apply is unknown at plan: terraform then skips these two checks.
  validation {
    condition     = alltrue([for pool in values(var.pools) : can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", pool.id))])
    error_message = "Each pool's id must be an instance pool UUID (lower-case)."
  }
  validation {
    condition     = length(distinct([for pool in values(var.pools) : pool.id])) == length(var.pools)
    error_message = "Each pool id may be given once."
  }
  validation {
    condition     = alltrue([for pool in values(var.pools) : pool.min_size >= 1 && pool.max_size >= pool.min_size && floor(pool.min_size) == pool.min_size && floor(pool.max_size) == pool.max_size])
    error_message = "Each pool needs whole bounds with 1 <= min_size <= max_size."
  }
  # `||` evaluates both sides on terraform 1.0, so null (the handlers' default) goes through coalesce.
  validation {
    condition     = alltrue([for pool in values(var.pools) : coalesce(pool.max_step, 1) >= 1 && floor(coalesce(pool.max_step, 1)) == coalesce(pool.max_step, 1) && coalesce(pool.cooldown_s, 0) >= 0])
    error_message = "Each pool needs a whole max_step of at least 1 and a cooldown_s of at least 0 (or null: the handlers' default)."
  }
  validation {
    condition     = alltrue([for pool in values(var.pools) : contains(["in_flight", "cpu"], pool.demand)])
    error_message = "Each pool's demand must be \"in_flight\" (its members' node exporter counts the app's connections) or \"cpu\"."
  }
  # The handlers stop on a type their price table (functions/common/prices.json) does not know;
  # a validation cannot read that file on terraform 1.0, so tests/infra holds this list equal to it.
  validation {
    condition     = alltrue([for pool in values(var.pools) : contains(["standard.tiny", "standard.small"], pool.instance_type)])
    error_message = "Each pool's instance_type must be in the handlers' price table (functions/common/prices.json): standard.tiny or standard.small."
  }
}

variable "scrape_security_group_ids" {
  description = "Security groups of the pools' members, by any name known before apply: each gets a rule admitting TCP 9100 (node exporter) from the monitoring VM's security group. Empty: the members' groups must admit it already."
  type        = map(string)

  validation {
    condition     = alltrue([for id in values(var.scrape_security_group_ids) : can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", id))])
    error_message = "Each scrape security group must be given by its UUID."
  }
}

variable "admin_cidrs" {
  description = "Source CIDRs allowed to reach Grafana (3000), Prometheus (9090) and SSH (22) on the monitoring VM."
  type        = list(string)

  validation {
    condition     = alltrue([for cidr in var.admin_cidrs : can(cidrhost(cidr, 0))])
    error_message = "Each admin CIDR must be an address range such as 203.0.113.0/24."
  }
}

variable "monitoring_instance_type" {
  description = "Instance type of the monitoring VM (Prometheus, Grafana, handlers)."
  type        = string
  default     = "standard.small"
}

variable "disk_size" {
  description = "Disk size in GiB of the monitoring VM (at least 10)."
  type        = number
  default     = 10

  validation {
    condition     = var.disk_size >= 10
    error_message = "The disk size (disk_size) must be at least 10 GiB."
  }
}

variable "ssh_key_name" {
  description = "Name of an existing Exoscale SSH key authorized on the monitoring VM; empty means none."
  type        = string
  default     = ""
}

variable "operator_webhook_url" {
  description = "Optional URL that receives the self-monitoring warnings (stale tick or discovery, pool at maximum) as Grafana webhook JSON, for a person to read. Empty: they show on the dashboard's alert list only."
  type        = string
  default     = ""
  sensitive   = true
}
