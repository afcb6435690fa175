# What the handlers may touch and how they are told which pools: the IAM rule expressions of the
# role in ../autoscaler/iam.tf and the pool part of the handlers' environment. Kept here, provider-free,
# so tests render both offline for any set of pools.
#
# How Exoscale evaluates a rules policy (https://community.exoscale.com/product/security/iam/how-to/policy-guide/):
# rules run in order and the first whose expression is true decides; a rule whose expression is
# invalid (it reads a parameter the operation lacks) concludes nothing and the next rule is
# evaluated; when no rule decides, the call is refused whatever the default strategy.
# compute: the reads are allowed by a rule that reads only `operation` (list-instances has no `id`).
# The deny for any other pool reads `parameters.id`; if a mutation has no `id` there, that rule is
# invalid and falls through to the allow after it, so the mutation is allowed on any pool.
# sos: every rule is an allow that also requires `parameters.bucket` to be this bucket, so a call
# without that parameter, or on another bucket, matches no rule and is refused (fail closed).

locals {
  scaler_read_operations = ["get-instance-pool", "list-instances"]
  scaler_pool_mutations  = ["scale-instance-pool", "evict-instance-pool-members"]
  # Map iteration is in key order, so the rendered rules do not change between plans.
  pool_ids            = [for name, pool in var.pools : pool.id]
  scaler_bucket_check = "parameters.bucket == '${var.bucket}'"
  # The SOS operation names Exoscale documents: the exoscale provider's examples/iam-bucket-access/main.tf
  # and its IAM role test name get-object and list-objects (the handlers' GetObject and ListObjectsV2).
  scaler_object_reads = ["get-object", "list-objects"]
  # No public source names PutObject's or DeleteObjects' operation, and a wrong exact name would leave
  # the receiver unable to store a request: admitted by shape. Of S3's operations named in kebab case
  # only put-object and delete-objects have it (tests/infra/test_security.py checks that against
  # botocore's S3 model); docs/deploy.md says what else it could admit.
  scaler_object_writes = "(operation.startsWith('put-') && operation.endsWith('-object')) || (operation.startsWith('delete-') && operation.endsWith('-objects'))"

  compute_reads = "operation in ['${join("', '", local.scaler_read_operations)}']"
  # Whether a path parameter (the pool id) appears under `parameters` is not documented: if it does
  # not, this rule is skipped and the next one allows the mutation on any pool (the scaler keeps
  # working, less narrowly scoped). Unverified until tried on an account.
  compute_other_pools = "operation in ['${join("', '", local.scaler_pool_mutations)}'] && !(parameters.id in ['${join("', '", local.pool_ids)}'])"
  compute_mutations   = "operation in ['${join("', '", local.scaler_pool_mutations)}']"
  sos_reads           = "${local.scaler_bucket_check} && operation in ['${join("', '", local.scaler_object_reads)}']"
  sos_writes          = "${local.scaler_bucket_check} && (${local.scaler_object_writes})"

  # functions/common/pools.py: one pool is INSTANCEPOOL_ID (and its name) with the SCALER_* settings,
  # several are one INSTANCEPOOLS line; a null max_step or cooldown_s is left out (the handlers'
  # default). `,` `:` `=` need no quoting in an EnvironmentFile nor in a shell `eval`.
  pools_env = length(var.pools) == 1 ? merge([
    for name, pool in var.pools : merge(
      {
        INSTANCEPOOL_ID      = pool.id
        INSTANCEPOOL_NAME    = name
        SCALER_MIN_SIZE      = format("%d", pool.min_size)
        SCALER_MAX_SIZE      = format("%d", pool.max_size)
        SCALER_INSTANCE_TYPE = pool.instance_type
      },
      pool.max_step == null ? {} : { SCALER_MAX_STEP = format("%d", pool.max_step) },
      pool.cooldown_s == null ? {} : { SCALER_COOLDOWN_S = format("%v", pool.cooldown_s) },
    )
    ]...) : {
    INSTANCEPOOLS = join(",", [
      for name, pool in var.pools : join(":", concat(
        ["${name}=${pool.id}", format("min=%d", pool.min_size), format("max=%d", pool.max_size)],
        pool.max_step == null ? [] : [format("step=%d", pool.max_step)],
        pool.cooldown_s == null ? [] : [format("cooldown=%v", pool.cooldown_s)],
        ["type=${pool.instance_type}"],
      ))
    ])
  }
}
