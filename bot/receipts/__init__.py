"""Reading a photographed receipt: the dossier code in its QR code or barcode.

Channels download the image and call ``read_receipt``; what comes back says whether to answer
the code as if typed, to ask the citizen to type it, or to refuse the file. Nothing here keeps
the image: it lives only in the bytes the caller passes in. No network, no storage.
"""

from bot.receipts.reader import ReceiptLimits, ReceiptReading, Verdict, read_receipt

__all__ = ["ReceiptLimits", "ReceiptReading", "Verdict", "read_receipt"]
