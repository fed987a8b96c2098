"""Singer target for ActiveCampaign."""
