# Where the resources of a deployment applied before terraform/modules/autoscaler existed now live:
# without these, the next apply would destroy them and create new ones, the force-destroy bucket
# (requests, state, history) included. Needs terraform >= 1.1 (versions.tf asks for 1.3).

moved {
  from = aws_s3_bucket.state
  to   = module.autoscaler.aws_s3_bucket.state
}

moved {
  from = aws_s3_object.functions
  to   = module.autoscaler.aws_s3_object.functions
}

moved {
  from = exoscale_iam_role.scaler
  to   = module.autoscaler.exoscale_iam_role.scaler
}

moved {
  from = exoscale_iam_api_key.scaler
  to   = module.autoscaler.exoscale_iam_api_key.scaler
}

moved {
  from = random_password.grafana_admin
  to   = module.autoscaler.random_password.grafana_admin
}

moved {
  from = random_password.scaler_token
  to   = module.autoscaler.random_password.scaler_token
}

moved {
  from = exoscale_security_group.monitoring
  to   = module.autoscaler.exoscale_security_group.monitoring
}

moved {
  from = exoscale_security_group_rule.monitoring_admin
  to   = module.autoscaler.exoscale_security_group_rule.monitoring_admin
}

moved {
  from = exoscale_security_group_rule.pool_node_exporter
  to   = module.autoscaler.exoscale_security_group_rule.scrape["pool"]
}

moved {
  from = exoscale_compute_instance.monitoring
  to   = module.autoscaler.exoscale_compute_instance.monitoring
}
