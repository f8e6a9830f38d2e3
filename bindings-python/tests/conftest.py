"""pytest configuration: a Hypothesis profile that writes no example database."""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "shardtally", database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("shardtally")
