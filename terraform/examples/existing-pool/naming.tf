# The deployment's name: the prefix of every resource the autoscaler creates.

resource "random_id" "deployment" {
  byte_length = 4
}

locals {
  name = "${var.name_prefix}-${random_id.deployment.hex}"
}
