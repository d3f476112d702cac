"""The offline plan: run the Pulumi program under mocks and report what it would build."""
