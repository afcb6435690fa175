# A role and API key for the handlers: only the compute operations they call, and SOS on this
# deployment's bucket only. Mutating pool operations are refused for any other pool.

locals {
  scaler_compute_operations = [
    "get-instance-pool",
    "scale-instance-pool",
    "evict-instance-pool-members",
    "list-instances",
    "get-instance",
    "get-operation",
  ]
  scaler_pool_mutations = ["scale-instance-pool", "evict-instance-pool-members"]
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
            # Rules are evaluated in order; the first whose expression holds decides.
            expression = "operation in ['${join("', '", local.scaler_pool_mutations)}'] && parameters.id != '${exoscale_instance_pool.app.id}'"
            action     = "deny"
          },
          {
            expression = "operation in ['${join("', '", local.scaler_compute_operations)}']"
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
            expression = "operation in ['create-bucket', 'delete-bucket', 'put-bucket-acl', 'put-bucket-policy', 'delete-bucket-policy']"
            action     = "deny"
          },
          {
            expression = "true"
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
