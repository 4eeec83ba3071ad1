"""The Telegram channel: Bot API webhooks or long polling in, HTML messages with buttons out."""
