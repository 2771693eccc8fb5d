"""Tests of the Jenkins pipeline engine."""
