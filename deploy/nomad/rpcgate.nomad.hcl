# rpcgate on Nomad, with Consul service registration and Fabio routing.
#
#   nomad var put nomad/jobs/rpcgate admin_token=... redis_url=redis://... \
#     node_a_url=http://... node_b_url=http://... node_archive_url=http://...
#   nomad job run deploy/nomad/rpcgate.nomad.hcl
#
# One task group per node group, as in Harmony's design: "default" serves
# every call at /eth; "logs" serves log-heavy clients at /logs/eth from the
# archive node, and each group scales on its own queue depth (Nomad
# Autoscaler). Fabio routes by path from the urlprefix- tags. Checked by
# deploy/nomad_test.go; see docs/deploy.md.
job "rpcgate" {
  datacenters = ["dc1"]
  type        = "service"

  # Rolling deploys with a canary: one new allocation per group first,
  # promoted by hand (nomad deployment promote) once it looks right; a
  # deployment whose allocations fail their checks is rolled back.
  update {
    max_parallel      = 1
    canary            = 1
    health_check      = "checks"
    min_healthy_time  = "15s"
    healthy_deadline  = "3m"
    progress_deadline = "10m"
    auto_revert       = true
    auto_promote      = false
    stagger           = "30s"
  }

  # Gateways for the "default" node group. Each node group has its own task
  # group, so each scales alone (on its own queue depth).
  group "default" {
    count = 2

    # Nomad Autoscaler: keep about 20 calls waiting per gateway. The query
    # reads what Prometheus scraped from this group's admin services (see
    # the rpcgate-admin service below and docs/deploy.md for the scrape job
    # that turns its nomad_group meta into a label).
    scaling {
      enabled = true
      min     = 2
      max     = 10

      policy {
        evaluation_interval = "30s"
        cooldown            = "2m"

        check "queue_depth" {
          source = "prometheus"
          query  = "sum(rpcgate_queue_depth{nomad_group=\"default\"}) / count(rpcgate_build_info{nomad_group=\"default\"})"

          strategy "target-value" {
            target = 20
          }
        }
      }
    }

    network {
      port "http" {
        to = 8545
      }
      port "admin" {
        to = 8546
      }
    }

    # Leave Consul (and so Fabio) this long before the task gets SIGTERM,
    # so no new call is routed to a gateway that is draining.
    shutdown_delay = "10s"

    service {
      name        = "rpcgate-default"
      port        = "http"
      tags        = ["urlprefix-/eth"]
      canary_tags = ["canary"]

      check {
        name     = "ready"
        type     = "http"
        port     = "http"
        path     = "/readyz"
        interval = "5s"
        timeout  = "2s"
      }

      check {
        name     = "alive"
        type     = "http"
        port     = "http"
        path     = "/healthz"
        interval = "10s"
        timeout  = "2s"

        check_restart {
          limit = 3
          grace = "30s"
        }
      }
    }

    # The admin listener: /metrics for Prometheus (consul_sd_configs on the
    # "prometheus" tag), with the admin token.
    service {
      name = "rpcgate-admin-default"
      port = "admin"
      tags = ["prometheus"]

      meta {
        nomad_group = "default"
      }
    }

    task "rpcgate" {
      driver = "docker"

      # SIGTERM starts the drain; in-flight calls get shutdown_timeout (15s).
      kill_signal  = "SIGTERM"
      kill_timeout = "25s"

      config {
        image           = "ghcr.io/rpcgate/rpcgate:v0.1.0"
        ports           = ["http", "admin"]
        args            = ["serve", "--config", "/local/rpcgate.yaml"]
        readonly_rootfs = true
      }

      # The config. Variables are left for rpcgate to fill in from the
      # environment ($${...} is HCL for a literal dollar-brace); secrets come
      # from the template below. A changed config is reloaded (SIGHUP).
      template {
        destination   = "local/rpcgate.yaml"
        change_mode   = "signal"
        change_signal = "SIGHUP"
        data          = <<-EOT
          listen: 0.0.0.0:$${NOMAD_PORT_http}
          admin:
            listen: 0.0.0.0:$${NOMAD_PORT_admin}
            token: $${RPCGATE_ADMIN_TOKEN}
          registry:
            redis: $${RPCGATE_REDIS_URL}
            prefix: "rpcgate:$${NOMAD_REGION}:"
          shutdown_timeout: 15s
          chains:
            eth:
              chain_id: 1
              nodes:
                a: {url: "$${RPCGATE_NODE_A_URL}"}
                b: {url: "$${RPCGATE_NODE_B_URL}"}
              groups:
                default: {nodes: [a, b]}
        EOT
      }

      # Secrets from Nomad Variables (nomad var put nomad/jobs/rpcgate ...):
      # the admin token, the Redis URL and the node URLs (which may hold
      # API keys). Never in the job file.
      template {
        destination = "secrets/rpcgate.env"
        env         = true
        data        = <<-EOT
          {{ with nomadVar "nomad/jobs/rpcgate" }}
          RPCGATE_ADMIN_TOKEN={{ .admin_token }}
          RPCGATE_REDIS_URL={{ .redis_url }}
          RPCGATE_NODE_A_URL={{ .node_a_url }}
          RPCGATE_NODE_B_URL={{ .node_b_url }}
          {{ end }}
        EOT
      }

      resources {
        cpu    = 500
        memory = 256
      }
    }
  }

  # Gateways for the "logs" node group. Each node group has its own task
  # group, so each scales alone (on its own queue depth).
  group "logs" {
    count = 2

    # Nomad Autoscaler: keep about 20 calls waiting per gateway. The query
    # reads what Prometheus scraped from this group's admin services (see
    # the rpcgate-admin service below and docs/deploy.md for the scrape job
    # that turns its nomad_group meta into a label).
    scaling {
      enabled = true
      min     = 2
      max     = 6

      policy {
        evaluation_interval = "30s"
        cooldown            = "2m"

        check "queue_depth" {
          source = "prometheus"
          query  = "sum(rpcgate_queue_depth{nomad_group=\"logs\"}) / count(rpcgate_build_info{nomad_group=\"logs\"})"

          strategy "target-value" {
            target = 20
          }
        }
      }
    }

    network {
      port "http" {
        to = 8545
      }
      port "admin" {
        to = 8546
      }
    }

    # Leave Consul (and so Fabio) this long before the task gets SIGTERM,
    # so no new call is routed to a gateway that is draining.
    shutdown_delay = "10s"

    service {
      name        = "rpcgate-logs"
      port        = "http"
      tags        = ["urlprefix-/logs/eth strip=/logs"]
      canary_tags = ["canary"]

      check {
        name     = "ready"
        type     = "http"
        port     = "http"
        path     = "/readyz"
        interval = "5s"
        timeout  = "2s"
      }

      check {
        name     = "alive"
        type     = "http"
        port     = "http"
        path     = "/healthz"
        interval = "10s"
        timeout  = "2s"

        check_restart {
          limit = 3
          grace = "30s"
        }
      }
    }

    # The admin listener: /metrics for Prometheus (consul_sd_configs on the
    # "prometheus" tag), with the admin token.
    service {
      name = "rpcgate-admin-logs"
      port = "admin"
      tags = ["prometheus"]

      meta {
        nomad_group = "logs"
      }
    }

    task "rpcgate" {
      driver = "docker"

      # SIGTERM starts the drain; in-flight calls get shutdown_timeout (15s).
      kill_signal  = "SIGTERM"
      kill_timeout = "25s"

      config {
        image           = "ghcr.io/rpcgate/rpcgate:v0.1.0"
        ports           = ["http", "admin"]
        args            = ["serve", "--config", "/local/rpcgate.yaml"]
        readonly_rootfs = true
      }

      # The config. Variables are left for rpcgate to fill in from the
      # environment ($${...} is HCL for a literal dollar-brace); secrets come
      # from the template below. A changed config is reloaded (SIGHUP).
      template {
        destination   = "local/rpcgate.yaml"
        change_mode   = "signal"
        change_signal = "SIGHUP"
        data          = <<-EOT
          listen: 0.0.0.0:$${NOMAD_PORT_http}
          admin:
            listen: 0.0.0.0:$${NOMAD_PORT_admin}
            token: $${RPCGATE_ADMIN_TOKEN}
          registry:
            redis: $${RPCGATE_REDIS_URL}
            prefix: "rpcgate:$${NOMAD_REGION}:"
          shutdown_timeout: 15s
          chains:
            eth:
              chain_id: 1
              nodes:
                archive: {url: "$${RPCGATE_NODE_ARCHIVE_URL}"}
              groups:
                default: {nodes: [archive]}
        EOT
      }

      # Secrets from Nomad Variables (nomad var put nomad/jobs/rpcgate ...):
      # the admin token, the Redis URL and the node URLs (which may hold
      # API keys). Never in the job file.
      template {
        destination = "secrets/rpcgate.env"
        env         = true
        data        = <<-EOT
          {{ with nomadVar "nomad/jobs/rpcgate" }}
          RPCGATE_ADMIN_TOKEN={{ .admin_token }}
          RPCGATE_REDIS_URL={{ .redis_url }}
          RPCGATE_NODE_ARCHIVE_URL={{ .node_archive_url }}
          {{ end }}
        EOT
      }

      resources {
        cpu    = 500
        memory = 256
      }
    }
  }
}
