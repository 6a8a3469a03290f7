"""Class II accounts (Ⅱ类户) and opening them online with KYC. See README.md."""
