"""Delivery artifacts generated from a delivery plan: Dockerfile, Jenkinsfile, Helm chart, Argo CD objects."""
