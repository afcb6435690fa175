# A role and API key for the handlers: only the compute operations they call (mutations only on
# this pool) and the object operations they use on this deployment's bucket. tests/infra derives
# both lists from the handlers' code, so a new call cannot ship without its permission.
#
# How Exoscale evaluates a rules policy (https://community.exoscale.com/product/security/iam/how-to/policy-guide/):
# rules run in order and the first whose expression is true decides; a rule whose expression cannot
# be evaluated (it reads a parameter the operation lacks) is skipped; when no rule decides, the call
# is refused whatever the default strategy. So every operation is allowed by a rule that reads only
# `operation` before any rule that reads `parameters`.

locals {
  scaler_read_operations = ["get-instance-pool", "list-instances"]
  scaler_pool_mutations  = ["scale-instance-pool", "evict-instance-pool-members"]
  # Object operations only, by the shape of their names: the provider's example
  # (examples/iam-bucket-access/main.tf) names get-object and list-objects, but no public source
  # lists the names of PutObject, DeleteObject or DeleteObjects, and a wrong exact name would leave
  # the receiver unable to store a request. Bucket-level operations (policies, deletion) stay denied.
  scaler_object_rule = "operation.endsWith('-object') || operation.endsWith('-objects')"
}

resource "exoscale_iam_role" "scaler" {
  name        = "${local.name}-scaler"
  description = "Autoscaler handlers of ${local.name}: scale one pool, use one bucket"
  editable    = true

  policy = {
    default_service_strategy = "deny"
    services = {
      compute = {
        type = "rules"
        rules = [
          {
            expression = "operation in ['${join("', '", local.scaler_read_operations)}']"
            action     = "allow"
          },
          {
            # Whether a path parameter (the pool id) appears under `parameters` is not documented:
            # if it does not, this rule is skipped and the next one allows the mutation on any pool
            # (the scaler keeps working, less narrowly scoped). Unverified until tried on an account.
            expression = "operation in ['${join("', '", local.scaler_pool_mutations)}'] && parameters.id != '${exoscale_instance_pool.app.id}'"
            action     = "deny"
          },
          {
            expression = "operation in ['${join("', '", local.scaler_pool_mutations)}']"
            action     = "allow"
          },
        ]
      }
      sos = {
        type = "rules"
        rules = [
          {
            expression = "parameters.bucket != '${aws_s3_bucket.state.bucket}'"
            action     = "deny"
          },
          {
            expression = local.scaler_object_rule
            action     = "allow"
          },
        ]
      }
    }
  }
}

resource "exoscale_iam_api_key" "scaler" {
  name    = "${local.name}-scaler"
  role_id = exoscale_iam_role.scaler.id
}
