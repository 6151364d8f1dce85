"""wifivip domain code shared by the portal (Chalice ships this folder) and the Lambda functions."""
