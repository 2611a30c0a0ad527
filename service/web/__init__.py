"""The teacher review page: server-rendered Jinja2 templates, cookie sessions, plain forms."""
