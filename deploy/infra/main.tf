# One cloud VM for the compose stack, with a firewall closed except 80, 443, the simulator's
# 5001 and SSH from the operators' addresses only.
#   terraform init && terraform apply -var ssh_key_fingerprint=... -var 'admin_cidrs=["203.0.113.7/32"]'
terraform {
  required_version = ">= 1.6"
  required_providers {
    digitalocean = {
      source  = "digitalocean/digitalocean"
      version = "~> 2.40"
    }
  }
}

provider "digitalocean" {
  # Token from the DIGITALOCEAN_TOKEN environment variable, never from a file in the repo.
}

variable "region" {
  type    = string
  default = "fra1"
}

variable "size" {
  type    = string
  default = "s-2vcpu-4gb"
}

variable "ssh_key_fingerprint" {
  type        = string
  description = "Fingerprint of an SSH key already uploaded to the cloud account"
}

variable "admin_cidrs" {
  type        = list(string)
  description = "Addresses allowed to SSH in (the operators, the deploy runner)"
}

variable "simulator_port_open" {
  type    = bool
  default = true
}

resource "digitalocean_droplet" "minitwit" {
  name       = "minitwit-1"
  image      = "debian-12-x64"
  region     = var.region
  size       = var.size
  ssh_keys   = [var.ssh_key_fingerprint]
  monitoring = true
  user_data  = file("${path.module}/cloud-init.yaml")
  tags       = ["minitwit"]
}

resource "digitalocean_volume" "pgdata" {
  name                    = "minitwit-pgdata"
  region                  = var.region
  size                    = 50
  initial_filesystem_type = "ext4"
}

resource "digitalocean_volume_attachment" "pgdata" {
  droplet_id = digitalocean_droplet.minitwit.id
  volume_id  = digitalocean_volume.pgdata.id
}

resource "digitalocean_firewall" "minitwit" {
  name        = "minitwit"
  droplet_ids = [digitalocean_droplet.minitwit.id]

  inbound_rule {
    protocol         = "tcp"
    port_range       = "80"
    source_addresses = ["0.0.0.0/0", "::/0"]
  }
  inbound_rule {
    protocol         = "tcp"
    port_range       = "443"
    source_addresses = ["0.0.0.0/0", "::/0"]
  }
  dynamic "inbound_rule" {
    for_each = var.simulator_port_open ? [5001] : []
    content {
      protocol         = "tcp"
      port_range       = tostring(inbound_rule.value)
      source_addresses = ["0.0.0.0/0", "::/0"]
    }
  }
  inbound_rule {
    protocol         = "tcp"
    port_range       = "22"
    source_addresses = var.admin_cidrs
  }

  outbound_rule {
    protocol              = "tcp"
    port_range            = "1-65535"
    destination_addresses = ["0.0.0.0/0", "::/0"]
  }
  outbound_rule {
    protocol              = "udp"
    port_range            = "53"
    destination_addresses = ["0.0.0.0/0", "::/0"]
  }
}

output "ipv4" {
  value = digitalocean_droplet.minitwit.ipv4_address
}
