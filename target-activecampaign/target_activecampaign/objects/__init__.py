"""One module per ActiveCampaign object the target writes; ``registry`` lists them."""
