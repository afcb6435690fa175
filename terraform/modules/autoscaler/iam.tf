# A role and API key for the handlers: only the compute operations they call (mutations only on
# the configured pools) and the object operations they use on this deployment's bucket. The rule
# expressions come from the provider-free ../scaler_scope (which says how Exoscale evaluates them),
# so tests render them offline for any set of pools; tests/infra derives the operation lists from
# the handlers' code, so a new call cannot ship without its permission.

module "scope" {
  source = "../scaler_scope"

  pools  = var.pools
  bucket = aws_s3_bucket.state.bucket
}

resource "exoscale_iam_role" "scaler" {
  name        = "${var.name}-scaler"
  description = "Autoscaler handlers of ${var.name}: scale ${length(var.pools) == 1 ? "one pool" : "${length(var.pools)} pools"}, use one bucket"
  editable    = true

  policy = {
    default_service_strategy = "deny"
    services = {
      compute = {
        type = "rules"
        rules = [
          {
            expression = module.scope.compute_reads
            action     = "allow"
          },
          {
            expression = module.scope.compute_other_pools
            action     = "deny"
          },
          {
            expression = module.scope.compute_mutations
            action     = "allow"
          },
        ]
      }
      sos = {
        type = "rules"
        rules = [
          {
            expression = module.scope.sos_reads
            action     = "allow"
          },
          {
            expression = module.scope.sos_writes
            action     = "allow"
          },
        ]
      }
    }
  }
}

resource "exoscale_iam_api_key" "scaler" {
  name    = "${var.name}-scaler"
  role_id = exoscale_iam_role.scaler.id
}
