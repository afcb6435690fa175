# A role and API key for the handlers: only the compute operations they call (mutations only on
# this pool) and the object operations they use on this deployment's bucket. tests/infra derives
# both lists from the handlers' code, so a new call cannot ship without its permission.
#
# How Exoscale evaluates a rules policy (https://community.exoscale.com/product/security/iam/how-to/policy-guide/):
# rules run in order and the first whose expression is true decides; a rule whose expression is
# invalid (it reads a parameter the operation lacks) concludes nothing and the next rule is
# evaluated; when no rule decides, the call is refused whatever the default strategy.
# compute: the reads are allowed by a rule that reads only `operation` (list-instances has no `id`).
# The deny for another pool reads `parameters.id`; if a mutation has no `id` there, that rule is
# invalid and falls through to the allow after it, so the mutation is allowed on any pool.
# sos: every rule is an allow that also requires `parameters.bucket` to be this bucket, so a call
# without that parameter, or on another bucket, matches no rule and is refused (fail closed).

locals {
  scaler_read_operations = ["get-instance-pool", "list-instances"]
  scaler_pool_mutations  = ["scale-instance-pool", "evict-instance-pool-members"]
  scaler_bucket_check    = "parameters.bucket == '${aws_s3_bucket.state.bucket}'"
  # The SOS operation names Exoscale documents: the exoscale provider's examples/iam-bucket-access/main.tf
  # and its IAM role test name get-object and list-objects (the handlers' GetObject and ListObjectsV2).
  scaler_object_reads = ["get-object", "list-objects"]
  # No public source names PutObject's or DeleteObjects' operation, and a wrong exact name would leave
  # the receiver unable to store a request: admitted by shape. Of S3's operations named in kebab case
  # only put-object and delete-objects have it (tests/infra/test_security.py checks that against
  # botocore's S3 model); docs/deploy.md says what else it could admit.
  scaler_object_writes = "(operation.startsWith('put-') && operation.endsWith('-object')) || (operation.startsWith('delete-') && operation.endsWith('-objects'))"
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
            expression = "${local.scaler_bucket_check} && operation in ['${join("', '", local.scaler_object_reads)}']"
            action     = "allow"
          },
          {
            expression = "${local.scaler_bucket_check} && (${local.scaler_object_writes})"
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
