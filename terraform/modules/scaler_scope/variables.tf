variable "pools" {
  description = "The pools the handlers scale, by name (the autoscaler module's `pools`, validated there; max_step and cooldown_s may be null)."
  type = map(object({
    id            = string
    min_size      = number
    max_size      = number
    max_step      = number
    cooldown_s    = number
    instance_type = string
    demand        = string
  }))
}

variable "bucket" {
  description = "Name of the deployment's SOS state bucket."
  type        = string
}
