"""Every fixed citizen-facing sentence, in one place for wording review, and small formatters."""

from __future__ import annotations

import datetime as dt

from actions.base import MAX_TEXT_CHARS, MessageKind
from nlu.intents import Intent

ASPECT_TITLES: dict[str, str] = {
    Intent.PROCEDURE_OVERVIEW: "Các bước thực hiện",
    Intent.PROCEDURE_DOCUMENTS: "Giấy tờ cần chuẩn bị",
    Intent.PROCEDURE_FEE: "Lệ phí",
    Intent.PROCEDURE_DURATION: "Thời gian giải quyết",
    Intent.PROCEDURE_LOCATION: "Nơi nộp hồ sơ",
    Intent.PROCEDURE_ONLINE: "Nộp trực tuyến",
}

INTENT_LABELS: dict[str, str] = {
    **ASPECT_TITLES,
    Intent.DOSSIER_STATUS: "Tra cứu hồ sơ",
    Intent.FOLLOW_DOSSIER: "Theo dõi hồ sơ",
    Intent.UNFOLLOW_DOSSIER: "Hủy theo dõi hồ sơ",
    Intent.FOLLOWED_DOSSIERS: "Hồ sơ đang theo dõi",
    Intent.OFFICE_INFO: "Giờ làm việc, địa chỉ cơ quan",
    Intent.HUMAN_HANDOFF: "Gặp nhân viên hỗ trợ",
    Intent.HELP: "Bot giúp được gì?",
    Intent.GREET: "Chào hỏi",
    Intent.GOODBYE: "Tạm biệt",
    Intent.THANK: "Cảm ơn",
    Intent.MY_DATA: "Dữ liệu của tôi",
    Intent.DELETE_MY_DATA: "Xóa dữ liệu của tôi",
    Intent.CHECK_PAPERS: "Kiểm tra giấy tờ",
}

ONLINE_MODES = {
    "full": "Có thể làm trực tuyến toàn trình (từ nộp hồ sơ đến nhận kết quả).",
    "partial": "Có thể nộp hồ sơ trực tuyến, nhưng vẫn phải đến cơ quan ở một bước.",
    "none": "Thủ tục này chưa làm trực tuyến được; bạn cần đến nộp trực tiếp.",
}

GREET = "Xin chào! Tôi là trợ lý thủ tục hành chính của {city}. Bạn cần hỏi về thủ tục nào ạ?"
GOODBYE = "Cảm ơn bạn đã liên hệ. Chúc bạn một ngày tốt lành!"
THANK = "Rất vui được giúp bạn. Bạn cần hỏi thêm gì cứ nhắn nhé!"
HELP = (
    "Tôi có thể giúp bạn:\n"
    "1. Hướng dẫn các bước, giấy tờ, lệ phí, thời gian, nơi nộp của {count} thủ tục thường gặp.\n"
    "2. Cho biết thủ tục nào làm trực tuyến được và đường link.\n"
    "3. Tra cứu tình trạng hồ sơ theo mã hồ sơ.\n"
    "4. Chuyển bạn đến nhân viên hỗ trợ khi cần.\n"
    "Bạn có thể hỏi như: \"làm căn cước cần giấy tờ gì\", \"tra cứu hồ sơ 000.00.12.H31-…\"."
)
HELP_EXAMPLES = (
    ("Làm căn cước cần giấy tờ gì?", "procedure_documents", "can-cuoc"),
    ("Lệ phí làm hộ chiếu", "procedure_fee", "ho-chieu"),
    ("Khai sinh online", "procedure_online", "khai-sinh"),
    ("Tra cứu hồ sơ", "dossier_status", None),
)
OUT_OF_SCOPE = (
    "Xin lỗi, tôi chưa hiểu câu hỏi này hoặc nó nằm ngoài phạm vi thủ tục hành chính. "
    "Bạn có thể hỏi về các bước, giấy tờ, lệ phí, nơi nộp của một thủ tục, hoặc tra cứu hồ sơ."
)
OFFER_HUMAN = (
    "Có vẻ tôi chưa giúp được bạn. Bạn có muốn gặp nhân viên hỗ trợ không? "
    "Bạn cũng có thể gọi tổng đài {hotline} ({hours})."
)
ASK_PROCEDURE = "Bạn muốn hỏi về thủ tục nào ạ? Bạn chọn bên dưới hoặc gõ tên thủ tục nhé."
ASK_PROCEDURE_NO_CANDIDATES = (
    "Bạn muốn hỏi về thủ tục nào ạ? Ví dụ: khai sinh, căn cước, hộ chiếu, đăng ký kết hôn."
)
CLARIFY = "Tôi chưa chắc mình hiểu đúng. Ý bạn là:"
# A procedure question no procedure in the knowledge base fits: said plainly.
NO_PROCEDURE = "Xin lỗi, tôi chưa có thông tin về thủ tục bạn hỏi."
NO_PROCEDURE_CLOSEST = "Thủ tục gần nhất tôi tìm được (có thể chưa đúng ý bạn) ở nút bên dưới."
NO_PROCEDURE_CONTACT = (
    "Bạn có thể gọi tổng đài {hotline} ({hours}) hoặc gặp nhân viên hỗ trợ để được hướng dẫn."
)
HANDOFF_WAITING = (
    "Tôi đã chuyển cuộc trò chuyện cho nhân viên hỗ trợ{place}.\n"
    "1. Nhân viên sẽ trả lời bạn ngay tại đây, trong giờ làm việc ({hours}).\n"
    "2. Nếu cần gấp, bạn gọi tổng đài {hotline}.\n"
    "Trong lúc chờ, tôi sẽ không tự trả lời thay nhân viên."
)
HANDOFF_STILL_WAITING = (
    "Yêu cầu của bạn đang chờ nhân viên hỗ trợ{place}. Nếu cần gấp, bạn gọi tổng đài "
    "{hotline}."
)
# Every further message while waiting: short, and the message is shown to the officer.
HANDOFF_STILL_WAITING_SHORT = (
    "Bạn vẫn đang chờ nhân viên hỗ trợ{place}. Tin nhắn của bạn đã được chuyển để nhân viên xem."
)
HANDOFF_QUEUE_PLACE = " (vị trí thứ {position} trong hàng đợi)"
HANDOFF_OUTSIDE_HOURS = (
    "Tôi đã chuyển cuộc trò chuyện cho nhân viên hỗ trợ{place}.\n"
    "1. Bây giờ là ngoài giờ làm việc ({hours}). Nhân viên sẽ trả lời bạn ngay tại đây "
    "{opening}.\n"
    "2. Nếu cần gấp, bạn gọi tổng đài {hotline}.\n"
    "Trong lúc chờ, tôi sẽ không tự trả lời thay nhân viên."
)
HANDOFF_STILL_WAITING_CLOSED = (
    "Yêu cầu của bạn đang chờ nhân viên hỗ trợ{place}; nhân viên sẽ trả lời {opening}. "
    "Nếu cần gấp, bạn gọi tổng đài {hotline}."
)
OPENING = "từ {when}"  # e.g. "từ 7:30 sáng mai"
NO_OPENING = "khi có nhân viên trực"  # a schedule with no opening time at all
STAFF_TOOK = "Nhân viên hỗ trợ đã nhận cuộc trò chuyện và sẽ trả lời bạn ngay tại đây."
STAFF_SAYS = "👤 Nhân viên hỗ trợ:\n{text}"  # where the channel cannot show who wrote
STAFF_RELEASED = (
    "Nhân viên hỗ trợ đã chuyển bạn lại cho trợ lý tự động. Bạn cần hỏi gì cứ nhắn nhé."
)
ASK_RATING = (
    "Nhân viên hỗ trợ đã kết thúc cuộc trò chuyện; từ giờ trợ lý tự động sẽ trả lời bạn.\n"
    "Bạn có hài lòng với sự hỗ trợ của nhân viên không? Bạn chọn một mức từ 5 (rất hài lòng) "
    "đến 1 (rất không hài lòng) nhé."
)
RATING_TITLES = {5: "5 – Rất hài lòng", 4: "4 – Hài lòng", 3: "3 – Bình thường",
                 2: "2 – Chưa hài lòng", 1: "1 – Rất không hài lòng"}
RATING_THANKS = "Cảm ơn bạn đã đánh giá {rating}/5! Ý kiến của bạn giúp chúng tôi phục vụ tốt hơn."
RATING_SORRY = (
    "Cảm ơn bạn đã đánh giá {rating}/5. Xin lỗi vì bạn chưa hài lòng; chúng tôi sẽ xem lại "
    "cuộc trò chuyện để phục vụ tốt hơn. Nếu cần, bạn gọi tổng đài {hotline}."
)
RATING_NOTHING = "Hiện không có cuộc hỗ trợ nào của nhân viên để đánh giá. Bạn cần hỏi gì ạ?"
RATING_INVALID = "Bạn vui lòng chọn một mức từ 1 đến 5 nhé."
FEEDBACK_UP_BUTTON = "👍 Hữu ích"
FEEDBACK_DOWN_BUTTON = "👎 Chưa hữu ích"
FEEDBACK_THANKS = "Cảm ơn bạn đã góp ý!"
FEEDBACK_SORRY = (
    "Cảm ơn bạn đã góp ý. Xin lỗi vì câu trả lời chưa giúp được bạn. Bạn có thể hỏi lại "
    "theo cách khác, hoặc gặp nhân viên hỗ trợ."
)
FEEDBACK_NOTHING = "Tôi chưa tìm thấy câu trả lời nào để ghi nhận góp ý. Bạn cần hỏi gì ạ?"
RESUMED = "Tôi đã quay lại hỗ trợ bạn. Bạn cần hỏi gì ạ?"
RESUME_BUTTON = "Quay lại trò chuyện với bot"
HANDOFF_BUTTON = "Gặp nhân viên hỗ trợ"

ASK_DOSSIER_CODE = (
    "Bạn vui lòng gửi mã hồ sơ ghi trên Giấy tiếp nhận hồ sơ và hẹn trả kết quả "
    "(ví dụ: 000.00.12.H31-261120-0001)."
)
BAD_DOSSIER_CODE = (
    "Mã \"{code}\" không phải mã hồ sơ hợp lệ: {problem}. "
    "Bạn kiểm tra lại mã trên giấy hẹn và gửi lại giúp tôi nhé."
)
# The bot asked for the code and the answer is none ("tôi không nhớ", "mã chưa đúng").
NOT_A_DOSSIER_CODE = (
    "Tôi chưa thấy mã hồ sơ hợp lệ trong tin nhắn của bạn. Mã hồ sơ in ở phần đầu Giấy "
    "tiếp nhận hồ sơ và hẹn trả kết quả, ngay dòng \"Mã hồ sơ\", có dạng "
    "000.00.12.H31-261120-0001.\n"
    "1. Bạn xem lại giấy hẹn và gửi mã đó cho tôi.\n"
    "2. Nếu không còn giấy hẹn, bạn gọi {hotline} hoặc gặp nhân viên hỗ trợ."
)
# Only the end of a code ("H31-261120-0001"): the receiving agency's part is missing.
DOSSIER_CODE_PARTIAL = (
    "Mã \"{code}\" chưa đúng: mã hồ sơ còn thiếu phần đầu (mã cơ quan tiếp nhận). "
    "Mã đầy đủ có dạng 000.00.12.H31-261120-0001, ghi trên Giấy tiếp nhận hồ sơ và hẹn trả "
    "kết quả. Bạn gửi lại mã đầy đủ giúp tôi nhé."
)
DOSSIER_NOT_FOUND = (
    "Không tìm thấy hồ sơ có mã {code}. Bạn kiểm tra lại mã trên giấy hẹn; nếu mã đúng, "
    "hồ sơ có thể chưa được cập nhật lên hệ thống, bạn vui lòng thử lại sau hoặc gọi {hotline}."
)
DOSSIER_UNAVAILABLE = (
    "Hệ thống tra cứu hồ sơ đang tạm gián đoạn, tôi chưa lấy được thông tin. "
    "Bạn vui lòng thử lại sau ít phút, hoặc gọi tổng đài {hotline} để được hỗ trợ."
)
DOSSIER_RATE_LIMITED = (
    "Bạn đã tra cứu quá {limit} lần trong một giờ. Vui lòng thử lại sau, "
    "hoặc gọi tổng đài {hotline}."
)
DOSSIER_LOOKUPS_BUSY = (
    "Hệ thống tra cứu hồ sơ đang nhận quá nhiều yêu cầu. Bạn vui lòng thử lại sau ít phút, "
    "hoặc gọi tổng đài {hotline}."
)
DOSSIER_ADDRESS_LIMITED = (
    "Từ mạng của bạn đã có quá nhiều lượt tra cứu hồ sơ trong một giờ. "
    "Bạn vui lòng thử lại sau ít phút."
)
DOSSIER_STATUS_NEXT: dict[str, str] = {
    "received": "Hồ sơ đã được tiếp nhận và đang chờ xử lý. Bạn chưa cần làm gì thêm.",
    "processing": "Hồ sơ đang được xử lý. Bạn chờ đến ngày hẹn trả kết quả nhé.",
    "need_supplement": "Hồ sơ cần bổ sung giấy tờ. Bạn mang giấy tờ còn thiếu đến nơi đã nộp "
                       "(hoặc bổ sung trực tuyến nếu đã nộp online).",
    "overdue": "Hồ sơ đã quá hạn hẹn trả. Bạn có thể liên hệ nơi nộp hồ sơ hoặc gọi {hotline} "
               "để được giải thích; cơ quan phải có văn bản xin lỗi và hẹn lại.",
    "done": "Hồ sơ đã có kết quả. Bạn mang giấy hẹn và giấy tờ tùy thân đến nhận, "
            "hoặc nhận qua bưu chính/trực tuyến nếu đã đăng ký.",
    "returned": "Hồ sơ đã được trả lại. Bạn xem lý do bên dưới, hoàn thiện và nộp lại.",
    "rejected": "Hồ sơ bị từ chối giải quyết. Bạn xem lý do bên dưới; nếu chưa rõ, "
                "hãy liên hệ nơi nộp hồ sơ hoặc gọi {hotline}.",
}
# The appointment date against today (Vietnam time), for dossiers not finished yet.
DOSSIER_DAYS_LEFT = "Còn {days} ngày nữa đến ngày hẹn trả kết quả."
DOSSIER_DUE_TODAY = "Hôm nay là ngày hẹn trả kết quả."
DOSSIER_LATE = "Hồ sơ đã trễ hẹn {days} ngày."
# What to do about a late dossier (received or processing), instead of "wait for the date".
DOSSIER_LATE_NEXT = ("Bạn có thể liên hệ nơi nộp hồ sơ hoặc gọi {hotline} để hỏi lý do; cơ quan "
                     "phải có văn bản xin lỗi và hẹn lại ngày trả kết quả.")
UNVERIFIED = "⚠️ Lưu ý: {note} Vui lòng kiểm tra lại tại {where} hoặc gọi tổng đài {hotline}."
SOURCE = "Nguồn: {source} (cập nhật {verified})."
# A national-catalog procedure not yet checked for the city: say so, and cite its page.
NATIONAL_SOURCE = ("Đây là mẫu thủ tục chung toàn quốc (mã {code}, Cơ sở dữ liệu quốc gia về "
                   "thủ tục hành chính, cập nhật {captured}), chưa được cán bộ {city} kiểm tra. "
                   "Xem đầy đủ: {source}")
# A national record promoted by an officer.
CHECKED_SOURCE = "Nguồn: {source} (cán bộ {city} kiểm tra ngày {verified})."
# What the national record does not state: never guessed.
RECORD_SILENT = ("Bản ghi quốc gia không ghi {what}. Bạn hỏi {where} hoặc gọi tổng đài "
                 "{hotline} nhé.")
ANY_OFFICE = "cơ quan tiếp nhận hồ sơ"  # where to ask when no office is known
SILENT_WHAT = {
    "agency": "cơ quan giải quyết",
    "steps": "các bước thực hiện",
    "documents": "thành phần hồ sơ",
    "fees": "lệ phí",
    "processing_time": "thời gian giải quyết",
    "place": "nơi nộp hồ sơ",
}
# Where a national procedure is filed, by its level in the record.
LEVEL_PLACES = {
    "Cấp xã": "Thủ tục thực hiện ở cấp xã: bạn nộp tại Trung tâm Phục vụ hành chính công "
              "của xã, phường, đặc khu nơi bạn cư trú.",
    "Cấp tỉnh": "Thủ tục thực hiện ở cấp thành phố: bạn nộp tại Trung tâm Phục vụ hành chính "
                "công thành phố, hồ sơ chuyển đến cơ quan giải quyết.",
    "Cấp bộ": "Thủ tục do cơ quan trung ương giải quyết, không nộp ở xã, phường.",
}
MORE_STEPS = "… (còn {count} bước nữa, bấm “Xem thêm” để xem đủ)"
MORE_DOCUMENTS = "… (còn {count} giấy tờ nữa, bấm “Xem thêm” để xem đủ)"
# A first answer is short; the rest of the same aspect is one tap away.
MORE_BUTTON = "Xem thêm"
MORE_HEADERS: dict[str, str] = {
    Intent.PROCEDURE_OVERVIEW: "Các bước thực hiện thủ tục {name} (đầy đủ):",
    Intent.PROCEDURE_DOCUMENTS: "Giấy tờ cần chuẩn bị cho thủ tục {name} (đầy đủ, kèm ghi chú):",
    Intent.PROCEDURE_FEE: "Lệ phí thủ tục {name} (chi tiết):",
    Intent.PROCEDURE_DURATION: "Thời gian giải quyết thủ tục {name} (chi tiết):",
    Intent.PROCEDURE_LOCATION: "Nơi nộp hồ sơ thủ tục {name} (chi tiết):",
    Intent.PROCEDURE_ONLINE: "Nộp trực tuyến thủ tục {name} (chi tiết):",
}
LEGAL_BASIS = "Căn cứ pháp lý:"
FEE_SOURCES = "Căn cứ"  # before the fees' legal sources, said once under the list
# A fee whose amount only a note gives, and a fee nobody gave an amount for.
# ({city} is FOR_CITY the first time one of them is said in an answer, then "").
FEE_UNCONFIRMED = "khoảng {amount}, chưa xác nhận{city}"
FEE_UNKNOWN = "chưa có mức chính thức{city}"
FOR_CITY = " cho {city}"
# The first answer about the place, when an office's details are not confirmed.
OFFICES_UNVERIFIED = ("Địa chỉ, điện thoại, giờ làm việc của nơi tiếp nhận chưa được xác nhận "
                      "đầy đủ; bấm “Xem thêm” để xem chi tiết.")
OTHER_ASPECTS = "Bạn muốn xem thêm:"
WITH_STAFF = ""  # while staff has the conversation the bot stays silent


def vnd(amount: int) -> str:
    """An amount in Vietnamese style: 25000 -> "25.000 đồng", 0 -> "miễn phí"."""
    if amount == 0:
        return "miễn phí"
    return f"{amount:,}".replace(",", ".") + " đồng"


def day(value: dt.date | dt.datetime) -> str:
    """A date as dd/mm/yyyy."""
    return f"{value:%d/%m/%Y}"


def days(value: float) -> str:
    """A number of working days without a needless ".0"."""
    return f"{value:g}".replace(".", ",")


def _thousands(number: int) -> str:
    """A whole number the Vietnamese way: 4.000."""
    return f"{number:,}".replace(",", ".")


# Fixed answers to what the bot cannot read, by kind of message (every channel).
NOTICES: dict[str, str] = {
    MessageKind.MEDIA: (
        "Xin lỗi, hiện tôi chỉ đọc được tin nhắn dạng chữ, chưa xem được hình ảnh, nhãn dán, "
        "tệp hay tin nhắn thoại. Bạn vui lòng gõ câu hỏi bằng chữ, ví dụ: "
        "“Làm căn cước cần giấy tờ gì?”."),
    MessageKind.TOO_LONG: (
        f"Tin nhắn của bạn dài quá {_thousands(MAX_TEXT_CHARS)} ký tự nên tôi chưa đọc được. "
        "Bạn vui lòng gửi câu hỏi ngắn gọn hơn, mỗi lần một việc."),
    MessageKind.EXPIRED_BUTTON: (
        "Xin lỗi, nút này đã hết hạn. Bạn vui lòng gõ lại câu hỏi, hoặc gõ /help để xem tôi "
        "có thể giúp gì."),
    MessageKind.RECEIPT_NO_CODE: (
        "Tôi chưa đọc được mã hồ sơ trong ảnh này. Nếu đây là Giấy tiếp nhận hồ sơ và hẹn trả "
        "kết quả, bạn vui lòng:\n"
        "1. Tìm dòng “Mã hồ sơ” ở phần đầu tờ giấy, ngay dưới tiêu đề (cạnh mã QR hoặc mã "
        "vạch nếu có).\n"
        "2. Gõ mã đó vào đây, ví dụ: 000.00.12.H31-251103-0042.\n"
        "Bạn cũng có thể chụp lại ảnh rõ hơn, đủ sáng, để mã QR hoặc mã vạch nằm trọn trong "
        "ảnh."),
    MessageKind.IMAGE_REFUSED: (
        "Xin lỗi, tôi không mở được tệp này: tôi chỉ nhận ảnh (JPEG, PNG, WebP, GIF, BMP) "
        "dung lượng vừa phải. Bạn vui lòng chụp lại Giấy tiếp nhận hồ sơ và gửi ảnh, hoặc "
        "gõ mã hồ sơ in trên giấy."),
}
# How a notice's message is named in the inbox and in transcripts (staff read these).
NOTICE_TRANSCRIPT: dict[str, str] = {
    MessageKind.MEDIA: "[ảnh, nhãn dán, tệp hoặc tin nhắn thoại]",
    MessageKind.TOO_LONG: "[tin nhắn quá dài]",
    MessageKind.EXPIRED_BUTTON: "[bấm nút đã hết hạn]",
    MessageKind.RECEIPT_NO_CODE: "[ảnh không đọc được mã hồ sơ]",
    MessageKind.IMAGE_REFUSED: "[tệp không nhận: quá lớn hoặc không phải ảnh]",
}
# Filler text where a platform needs text with buttons that have none of their own.
CHOOSE = "Mời bạn chọn:"
MORE_CHOICES = "Các lựa chọn khác:"

# The citizen's office (chosen by their xã/phường/đặc khu).
ASK_PLACE = ("Bạn ở xã/phường/đặc khu nào? Bạn gõ tên (ví dụ: phường Lê Chân) để tôi chỉ "
             "đúng nơi nộp.")
ASK_PLACE_OFFICE = ("Bạn hỏi cơ quan của xã/phường/đặc khu nào? Bạn gõ tên (ví dụ: phường "
                    "Lê Chân, xã An Lão) hoặc chọn bên dưới.")
ASK_PLACE_AMONG = ("{old} nay thuộc các đơn vị: {units}. Bạn ở xã/phường/đặc khu nào? Bạn gõ "
                   "tên hoặc chọn bên dưới.")
PLACE_OFFICE_NAMES = {  # a template office applied to one unit, by the template's id
    "ttpvhcc-xa-phuong": "Trung tâm Phục vụ hành chính công {unit}",
    "cong-an-xa-phuong": "Công an {unit}",
}
PLACE_OFFICE_NAME = "{office} ({unit})"  # a template without a name of its own above
PLACE_OFFICE_UNKNOWN = ("Địa chỉ, số điện thoại và giờ làm việc của {office} chưa có trong dữ "
                        "liệu của chúng tôi.")
PLACE_USED = ("(Theo nơi bạn cho biết: {unit}. Nếu bạn ở nơi khác, bạn gõ tên xã/phường/đặc khu "
              "đó.)")
NO_ADDRESS = "chưa có địa chỉ cụ thể"
OFFICE_AT = "Nơi nộp hồ sơ của bạn:"
OFFICES_AT = "Các nơi tiếp nhận:"
# Questions about an office itself: its hours, address, phone.
OFFICE_FACTS = {
    "hours": "Giờ làm việc",
    "address": "Địa chỉ",
    "phone": "Số điện thoại",
}
OFFICE_FACT_UNKNOWN = "{fact} của {office}: chưa có trong dữ liệu của chúng tôi."
OFFICE_FACT = "{fact} của {office}: {value}."
OFFICE_CHECK = ("Bạn có thể xem trên Cổng Dịch vụ công thành phố hoặc gọi tổng đài {hotline} "
                "({note}).")
OFFICE_NOTE = "⚠️ Lưu ý: {note}"
OFFICE_HOTLINE_NOTE = "tổng đài của Cổng Dịch vụ công quốc gia"

# A citizen's own data: what is kept, for how long, and deleting it (actions/own_data.py).
MY_DATA = (
    "Về cuộc trò chuyện này, hệ thống đang lưu:\n"
    "{kept}\n"
    "Số giấy tờ, số điện thoại trong tin nhắn được che trước khi lưu. Dữ liệu được tự động "
    "xóa sau {days} ngày kể từ tin nhắn cuối cùng.\n"
    "Muốn xóa ngay, bạn gõ \"xóa dữ liệu của tôi\" hoặc bấm nút bên dưới."
)
MY_DATA_NOTHING = ("Hiện hệ thống không lưu gì về bạn ngoài tin nhắn này. Dữ liệu trò chuyện "
                   "được tự động xóa sau {days} ngày kể từ tin nhắn cuối cùng.")
OWN_DATA_LINE = "{number}. {label}: {count}"
OWN_DATA_LABELS = {  # what each table holds, in the citizen's words
    "conversations": "Trạng thái cuộc trò chuyện (thủ tục đang hỏi, nơi ở đã cho biết)",
    "turns": "Tin nhắn trong lịch sử trò chuyện (đã che thông tin cá nhân)",
    "inbox": "Tin nhắn đã nhận",
    "outbox": "Câu trả lời chờ gửi",
    "conversation_notes": "Ghi chú của cán bộ hỗ trợ",
    "dossier_follows": "Hồ sơ đang theo dõi",
    "dossier_notices": "Thông báo về hồ sơ đang theo dõi",
}
OWN_DATA_OTHER = "Dữ liệu khác ({table})"
DELETE_BUTTON = "Xóa"
KEEP_BUTTON = "Không xóa"
MY_DATA_DELETE_BUTTON = "Xóa dữ liệu của tôi"
DELETE_ASK = (
    "Bạn có chắc muốn xóa toàn bộ dữ liệu của cuộc trò chuyện này không?\n"
    "{kept}\n"
    "Sau khi xóa không thể khôi phục. Bạn bấm \"Xóa\" (hoặc gõ \"có\") để xóa, "
    "\"Không xóa\" để giữ lại."
)
DELETE_ASK_NOTHING = "Hiện hệ thống không lưu dữ liệu nào khác của bạn, không có gì để xóa."
DELETE_DONE = ("Đã xóa dữ liệu của bạn:\n{deleted}\nCuộc trò chuyện bắt đầu lại từ đầu. Bạn "
               "cần hỏi gì cứ nhắn nhé!")
DELETE_KEPT = "Đã hủy, dữ liệu của bạn được giữ nguyên."
DELETE_STALE = ("Nút này đã cũ nên không có gì bị xóa. Nếu vẫn muốn xóa, bạn gõ \"xóa dữ liệu "
                "của tôi\".")
DELETE_WITH_STAFF = ("Bạn đang trao đổi với cán bộ hỗ trợ nên chưa xóa được ngay. Bạn có thể "
                     "nhờ cán bộ xóa giúp, hoặc gõ \"xóa dữ liệu của tôi\" sau khi cuộc trao "
                     "đổi kết thúc.")
# Checking one's papers before going (actions/precheck.py).
CHECK_BUTTON = "Kiểm tra giấy tờ"
CHECK_HAVE = "Có"
CHECK_MISSING = "Chưa có"
CHECK_NOT_MINE = "Không áp dụng"
CHECK_YES = "Có"
CHECK_NO = "Không"
CHECK_BACK = "Quay lại"
CHECK_STOP = "Dừng"
CHECK_RESUME = "Tiếp tục kiểm tra"
CHECK_AGAIN = "Kiểm tra lại từ đầu"
CHECK_START = ("Mình cùng kiểm tra giấy tờ cho thủ tục {name} nhé: tôi hỏi lần lượt từng giấy "
               "({count} giấy), bạn bấm Có, Chưa có hoặc Không áp dụng. Gõ \"quay lại\" để sửa "
               "câu trước, \"dừng\" để tạm dừng.")
CHECK_PAPER = "Giấy {number}/{count}: {name}{copies}\nBạn đã có giấy này chưa?"
CHECK_PAPER_NOTE = "({note})"
# A paper needed only in some case: the paper named first, then the case asked.
CHECK_CONDITION_PAPER = ("Giấy {number}/{count}: {name}{copies}\nGiấy này chỉ cần trong trường "
                         "hợp: {condition}.")
CHECK_CONDITION_PAPERS = ("Giấy {number}/{count}: {name}{copies}\nGiấy này và {more} giấy sau "
                          "chỉ cần trong trường hợp: {condition}.")
CHECK_CONDITION = "Trường hợp của bạn có như vậy không?"
# A condition the bot can ask in the citizen's words, by a word the condition holds.
CHECK_CONDITION_QUESTIONS = {
    "ủy quyền": "Bạn có nhờ người khác nộp thay không?",
    "người đại diện": "Bạn có nhờ người khác nộp thay không?",
    "làm thay": "Bạn có nhờ người khác nộp thay không?",
    "thế chấp": "Đất của bạn đang thế chấp phải không?",
}
CHECK_WHICH = ("Bạn muốn kiểm tra giấy tờ cho thủ tục nào ạ? Ví dụ: khai sinh, căn cước, hộ "
               "chiếu, đăng ký kết hôn.")
CHECK_STOPPED = ("Đã tạm dừng kiểm tra giấy tờ thủ tục {name} (đã xong {done}/{count} giấy). Khi "
                 "nào tiện, bạn gõ \"tiếp tục kiểm tra\" để làm tiếp; tôi giữ kết quả trong "
                 "{days} ngày.")
CHECK_NOTHING_TO_RESUME = ("Bạn chưa có lượt kiểm tra giấy tờ nào đang dở. Bạn gõ \"kiểm tra hồ "
                           "sơ\" và tên thủ tục để bắt đầu.")
CHECK_AT_START = "Đây là câu hỏi đầu tiên rồi."
CHECK_TEXT_ONLY = ("Bản ghi quốc gia của thủ tục {name} chỉ ghi thành phần hồ sơ dạng văn bản, "
                   "chưa tách được từng giấy nên tôi không hỏi lần lượt được. Bạn đối chiếu với "
                   "nội dung sau:")
CHECK_NO_PAPERS = "Bản ghi của thủ tục {name} không ghi giấy tờ cần nộp."
CHECK_RESULT = "Kết quả kiểm tra giấy tờ thủ tục {name}:"
CHECK_READY = "✅ Đã có ({count}):"
CHECK_MISSING_LIST = "❌ Còn thiếu ({count}):"
CHECK_NOT_NEEDED = "Không áp dụng cho bạn: {count} giấy."
CHECK_ALL_READY = "Bạn đã có đủ các giấy tờ cần thiết."
CHECK_GET_FORM = "mẫu: {form}"
CHECK_GET_AT = ("Mẫu đơn, tờ khai có tại {office}; giấy tờ khác chưa rõ xin ở đâu, bạn hỏi "
                "{office} hoặc gọi tổng đài {hotline}.")
CHECK_FEE = "Lệ phí: {fees}"
CHECK_TIME = "Thời gian giải quyết: {time}"
CHECK_SUBMIT = "Nơi nộp: {office}"
CHECK_ONLINE = "Nộp trực tuyến: {link}"

# Following a dossier (actions/follow.py; the notices: bot/follow/notifier.py)
DOSSIER_STATUS_NAMES: dict[str, str] = {
    "received": "Đã tiếp nhận",
    "processing": "Đang xử lý",
    "need_supplement": "Cần bổ sung hồ sơ",
    "overdue": "Quá hạn xử lý",
    "done": "Đã có kết quả",
    "returned": "Đã trả lại hồ sơ",
    "rejected": "Từ chối giải quyết",
}
FOLLOW_BUTTON = "🔔 Theo dõi hồ sơ"
UNFOLLOW_BUTTON = "Hủy theo dõi"
UNFOLLOW_ALL_BUTTON = "Hủy theo dõi tất cả"
FOLLOWED_BUTTON = "Hồ sơ đang theo dõi"
FOLLOW_ASK_CODE = ("Bạn vui lòng gửi mã hồ sơ muốn theo dõi, ghi trên Giấy tiếp nhận hồ sơ và hẹn "
                   "trả kết quả (ví dụ: 000.00.12.H31-261120-0001).")
FOLLOW_ADDED = (
    "Đã theo dõi hồ sơ {code} (tình trạng hiện tại: {status}).\n"
    "1. Khi hồ sơ chuyển bước hoặc đổi ngày hẹn, tôi sẽ nhắn bạn tại đây.\n"
    "2. Việc theo dõi kết thúc khi hồ sơ có kết quả, hoặc sau {days} ngày.\n"
    "3. Muốn dừng, bạn nhắn \"hủy theo dõi\"."
)
FOLLOW_ALREADY = "Bạn đang theo dõi hồ sơ {code} rồi. Khi có thay đổi tôi sẽ nhắn bạn ngay."
FOLLOW_FULL = ("Bạn đang theo dõi {limit} hồ sơ, là số tối đa. Bạn hủy theo dõi một hồ sơ "
               "rồi thử lại nhé.")
FOLLOW_FINISHED = ("Hồ sơ {code} đã kết thúc ({status}), nên không cần theo dõi nữa. "
                   "Bạn có thể tra cứu lại bất cứ lúc nào.")
FOLLOW_OFF = ("Hiện chưa theo dõi hồ sơ được. Bạn có thể tra cứu lại hồ sơ bất cứ lúc nào, "
              "hoặc gọi tổng đài {hotline}.")
UNFOLLOWED = "Đã hủy theo dõi hồ sơ {codes}. Bạn sẽ không nhận thông báo về hồ sơ này nữa."
UNFOLLOW_NONE = "Bạn chưa theo dõi hồ sơ nào."
UNFOLLOW_NOT_FOLLOWED = "Bạn không theo dõi hồ sơ {code}."
UNFOLLOW_WHICH = "Bạn muốn hủy theo dõi hồ sơ nào?"
FOLLOWED_NONE = ("Bạn chưa theo dõi hồ sơ nào. Để theo dõi, bạn nhắn \"theo dõi hồ sơ\" kèm mã "
                 "hồ sơ.")
FOLLOWED_HEADER = "Các hồ sơ bạn đang theo dõi ({count}/{limit}):"
FOLLOWED_LINE = "{n}. {code}: {status}{due} (theo dõi đến {until})"
FOLLOWED_DUE = ", hẹn trả {day}"
NOTICE = "🔔 Hồ sơ {code} có cập nhật:\nTình trạng: {status}"
NOTICE_LATE = "🔔 Trong lúc bạn vắng, hồ sơ {code} đã chuyển sang: {status} (ngày {day})."
NOTICE_DUE = "Ngày hẹn trả kết quả: {day}"
NOTICE_ENDED = "Hồ sơ đã có kết quả cuối cùng nên tôi dừng theo dõi hồ sơ này."
NOTICE_TITLE = "Cập nhật hồ sơ"  # a Zalo transaction message's header
NOTICE_CODE_KEY = "Mã hồ sơ"
NOTICE_STATUS_KEY = "Tình trạng"


# The citizen's conditions an answer used (actions/fitting.py): "Với bé 6 tuổi: …".
CONDITION_VARIANT = "Với {who}: thủ tục phù hợp là “{name}”."
CONDITION_ITEMS = "Với {who}: dưới đây chỉ gồm phần áp dụng cho trường hợp này."
RELATION_NAMES = {
    "con": "con", "be": "bé", "chau": "cháu", "tre": "trẻ", "con trai": "con trai",
    "con gai": "con gái", "em be": "em bé", "bo": "bố", "me": "mẹ", "cha": "cha", "vo": "vợ",
    "chong": "chồng", "ong": "ông", "ba": "bà", "em trai": "em trai", "em gai": "em gái",
    "anh trai": "anh trai", "chi gai": "chị gái", "bo me": "bố mẹ", "ong noi": "ông nội",
    "ba noi": "bà nội", "ong ngoai": "ông ngoại", "ba ngoai": "bà ngoại",
}
SITUATION_NAMES = {"lost": "giấy tờ bị mất", "damaged": "giấy tờ bị hỏng",
                   "expired": "giấy tờ hết hạn"}
FOR_RELATION = "trường hợp làm cho {who}"
BY_SELF = "trường hợp bạn tự làm"
CASE_OF = "trường hợp {what}"
PERSON = "người"
NEWBORN = "mới sinh"
AGE_MONTHS = "{months} tháng tuổi"
AGE_YEARS = "{years} tuổi"


def age_said(months: int) -> str:
    """An age as a citizen says it: "mới sinh", "3 tháng tuổi", "6 tuổi"."""
    if months == 0:
        return NEWBORN
    if months < 24 and months % 12:
        return AGE_MONTHS.format(months=months)
    return AGE_YEARS.format(years=months // 12)


def conditions_said(age_months: int | None, who: str | None, situation: str | None) -> str:
    """The conditions an answer used, for "Với …:" ("bé 6 tuổi", "trường hợp làm cho bố",
    "bé 6 tuổi, giấy tờ bị mất")."""
    subject = RELATION_NAMES.get(who or "")
    parts = []
    if age_months is not None:
        parts.append(f"{subject or PERSON} {age_said(age_months)}")
    elif subject:
        parts.append(FOR_RELATION.format(who=subject))
    elif who is not None:
        parts.append(BY_SELF)
    if situation is not None:
        name = SITUATION_NAMES[situation]
        parts.append(name if parts else CASE_OF.format(what=name))
    return ", ".join(parts)
