output "compute_reads" {
  description = "IAM rule expression: the compute reads the handlers make (any pool: list-instances has no id)."
  value       = local.compute_reads
}

output "compute_other_pools" {
  description = "IAM rule expression (deny): a pool mutation on any pool but the configured ones."
  value       = local.compute_other_pools
}

output "compute_mutations" {
  description = "IAM rule expression (allow, after the deny): the pool mutations the handlers make."
  value       = local.compute_mutations
}

output "sos_reads" {
  description = "IAM rule expression: the object reads the handlers make, on the state bucket only."
  value       = local.sos_reads
}

output "sos_writes" {
  description = "IAM rule expression: the object writes the handlers make, on the state bucket only."
  value       = local.sos_writes
}

output "pools_env" {
  description = "The handlers' environment naming the pools (functions/common/pools.py): INSTANCEPOOL_ID, INSTANCEPOOL_NAME and the SCALER_* settings for one pool, INSTANCEPOOLS for several; a null max_step or cooldown_s is left to the handlers' default."
  value       = local.pools_env
}
