"""Minimal baseline apps: each does its case's work and nothing else."""
