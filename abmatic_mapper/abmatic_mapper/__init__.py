"""Singer mapper between ActiveCampaign and Abmatic records."""
