# Names, the SSH key and the Ubuntu template of the pool (the autoscaler module finds its own).

resource "random_id" "deployment" {
  byte_length = 4
}

locals {
  name        = "${var.name_prefix}-${random_id.deployment.hex}"
  ssh_key_set = var.ssh_public_key != ""
}

resource "exoscale_ssh_key" "admin" {
  count      = local.ssh_key_set ? 1 : 0
  name       = local.name
  public_key = var.ssh_public_key
}

data "exoscale_template" "ubuntu" {
  zone = var.zone
  name = "Linux Ubuntu 24.04 LTS 64-bit"
}
