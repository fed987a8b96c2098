"""Dagster orchestration of the ActiveCampaign <-> Abmatic Meltano jobs: one partition per
connected ActiveCampaign account (README.md, "Many accounts on Dagster")."""
