"""The portal's logic: queries and views behind the Chalice routes of app.py."""
