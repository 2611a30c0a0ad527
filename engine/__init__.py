"""Domain model, mastery store and the flow evidence -> mastery -> playlist."""
