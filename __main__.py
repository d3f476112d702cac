"""Pulumi entry point (Pulumi.yaml: runtime python): build the inferstack platform for the selected stack."""

from inferstack.program import program

program()
