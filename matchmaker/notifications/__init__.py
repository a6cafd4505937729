"""The in-app notification centre and what match steps tell people: messages, and emails after commit."""
