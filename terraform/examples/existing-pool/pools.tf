# The pools, created elsewhere, read at plan: by id when name_or_id is a UUID, else by name (the
# provider lists the zone's pools and requires exactly one match).

locals {
  uuid = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
}

data "exoscale_instance_pool" "existing" {
  for_each = var.pools

  zone = var.zone
  id   = can(regex(local.uuid, each.value.name_or_id)) ? each.value.name_or_id : null
  name = can(regex(local.uuid, each.value.name_or_id)) ? null : each.value.name_or_id

  lifecycle {
    # A member outside every security group is in the account's default group, which no rule here
    # opens to the monitoring VM: discovery would list it and every scrape would time out.
    postcondition {
      condition     = length(self.security_group_ids) > 0
      error_message = "The pool's members belong to no security group: put them in one (the autoscaler admits TCP 9100 from the monitoring VM there)."
    }
  }
}

locals {
  # Every security group of every pool, keyed by its id: known at plan, since data sources are read then.
  member_security_groups = toset(flatten([for pool in data.exoscale_instance_pool.existing : tolist(pool.security_group_ids)]))
}
