variable "load_generator_image" {
  description = "Container image the pool members run on port 8080."
  type        = string
  default     = "quay.io/janoszen/http-load-generator:1.0.1"
}
