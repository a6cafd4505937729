"""The in-app notification centre: each person's messages about the matches that concern them."""
