"""Offers: presence events, scheduled sends, SES feedback and SMS replies in; offers out (SES, SNS)."""
