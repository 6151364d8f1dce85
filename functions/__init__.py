"""AWS Lambda functions of wifivip: thin handlers over the logic in their own modules."""
