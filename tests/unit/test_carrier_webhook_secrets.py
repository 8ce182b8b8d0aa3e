"""Which secrets carriers sign their webhooks with: a dev default, nothing in production
unless configured, and a clear error for a malformed list."""

from __future__ import annotations

import pytest

from workers.settings import load_settings


def test_dev_accepts_the_simulated_carriers_with_their_documented_secrets():
    secrets = load_settings({}).carrier_webhook_secrets

    assert secrets == {"sim-standard": "whsec_dev_sim_standard",
                       "sim-express": "whsec_dev_sim_express"}


def test_production_accepts_no_carrier_until_secrets_are_configured():
    production = {"FULFIL_TEMPORAL_ADDRESS": "temporal.internal:7233"}

    assert load_settings(production).carrier_webhook_secrets == {}
    configured = load_settings({**production,
                                "FULFIL_CARRIER_WEBHOOK_SECRETS": " dhl = s3cret , ups=other "})
    assert configured.carrier_webhook_secrets == {"dhl": "s3cret", "ups": "other"}


def test_a_carrier_without_a_secret_is_a_configuration_error_that_does_not_echo_secrets():
    with pytest.raises(ValueError) as error:
        load_settings({"FULFIL_CARRIER_WEBHOOK_SECRETS": "dhl=s3cret,ups"})

    assert "expected carrier=secret" in str(error.value)
    assert "s3cret" not in str(error.value)
