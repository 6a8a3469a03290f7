"""The open API for green partners (AaaS); see README.md."""
