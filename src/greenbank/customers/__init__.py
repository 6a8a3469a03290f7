"""Customers: onboarding, KYC checks, Class II accounts and their bound cards."""
