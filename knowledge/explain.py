"""Vietnamese explanations of knowledge-base validation problems, for officials.

The schema (``knowledge.schema``) is the one definition of a valid entry and pydantic reports
what is wrong in English with a machine-readable type and location. This module turns those
into short Vietnamese sentences and field names ("Lệ phí › dòng 1 › Số tiền (đồng)"), so the
admin editor, the YAML upload and the FAQ CSV upload all say the same thing the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from knowledge.files import Problem

FIELD_LABELS: dict[str, str] = {
    "id": "Mã định danh",
    "code": "Mã thủ tục (Cổng DVC quốc gia)",
    "name": "Tên",
    "aliases": "Tên gọi khác",
    "category": "Lĩnh vực",
    "level": "Cấp thực hiện",
    "agency": "Cơ quan giải quyết",
    "offices": "Nơi tiếp nhận",
    "steps": "Các bước thực hiện",
    "documents": "Giấy tờ cần nộp",
    "copies": "Số bản",
    "condition": "Khi nào cần",
    "note": "Ghi chú",
    "processing_time": "Thời gian giải quyết",
    "text": "Mô tả",
    "working_days": "Số ngày làm việc",
    "fees": "Lệ phí",
    "amount_vnd": "Số tiền (đồng)",
    "legal_source": "Căn cứ thu",
    "online": "Dịch vụ công trực tuyến",
    "mode": "Mức độ",
    "link": "Đường link",
    "legal_basis": "Căn cứ pháp lý",
    "sources": "Nguồn tham khảo",
    "verified": "Ngày kiểm tra",
    "unverified": "Thông tin chưa xác minh",
    "status": "Trạng thái",
    "question": "Câu hỏi",
    "paraphrases": "Cách hỏi khác",
    "answer": "Câu trả lời",
    "procedure": "Thủ tục liên quan",
    "tags": "Nhãn",
    "address": "Địa chỉ",
    "phone": "Điện thoại",
    "hours": "Giờ làm việc",
    "map_link": "Link bản đồ",
    "places": "Xã/phường phục vụ",
    "handles": "Thủ tục tiếp nhận",
    "hotline": "Đường dây nóng",
    "hotline_note": "Ghi chú đường dây nóng",
    "portals": "Cổng dịch vụ",
    "url": "Địa chỉ web",
}

SECTION_LABELS: dict[str, str] = {
    "city": "thông tin thành phố",
    "procedures": "thủ tục",
    "offices": "nơi tiếp nhận",
    "faqs": "câu hỏi thường gặp",
}

KIND_LABELS: dict[str, str] = {
    "procedure": "thủ tục",
    "office": "nơi tiếp nhận",
    "faq": "câu hỏi thường gặp",
}

# Lists edited one item per line in the admin forms: an error in item i is "dòng i+1".
LINE_FIELDS = frozenset({"aliases", "steps", "legal_basis", "sources", "paraphrases", "tags",
                         "places", "handles", "offices"})

SLUG_HINT = ("chỉ gồm chữ thường không dấu (a–z), chữ số và dấu gạch ngang, "
             "ví dụ: dang-ky-xe")


def _number(value: Any) -> str:
    if isinstance(value, int | float):
        return f"{value:,.0f}".replace(",", ".") if float(value).is_integer() else str(value)
    return str(value)


def location_label(loc: Sequence[str | int]) -> str:
    """A field location in words: ("fees", 0, "amount_vnd") -> "Lệ phí › dòng 1 › Số tiền"."""
    words = [f"dòng {part + 1}" if isinstance(part, int) else FIELD_LABELS.get(part, part)
             for part in loc if part != "[key]"]
    return " › ".join(words)


def message(code: str, context: Mapping[str, Any] | None = None,
            loc: Sequence[str | int] = ()) -> str:
    """One problem in Vietnamese, from its pydantic error type (or our own code) and details."""
    ctx = context or {}
    last = next((part for part in reversed(loc) if isinstance(part, str)), "")
    if code == "missing":
        return "Bắt buộc phải có"
    if code == "string_too_short":
        return ("Không được để trống" if ctx.get("min_length", 1) <= 1
                else f"Cần ít nhất {ctx['min_length']} ký tự")
    if code == "string_too_long":
        return f"Dài quá: tối đa {_number(ctx.get('max_length', ''))} ký tự"
    if code == "string_pattern_mismatch":
        return f"Mã không hợp lệ: {SLUG_HINT}"
    if code == "too_short":
        return ("Cần ít nhất một mục" if ctx.get("min_length", 1) <= 1
                else f"Cần ít nhất {ctx['min_length']} mục")
    if code == "too_long":
        return f"Tối đa {ctx.get('max_length', '')} mục"
    if code == "greater_than_equal":
        return f"Phải lớn hơn hoặc bằng {_number(ctx.get('ge', 0))}"
    if code == "greater_than":
        return f"Phải lớn hơn {_number(ctx.get('gt', 0))}"
    if code == "less_than_equal":
        return f"Không được lớn hơn {_number(ctx.get('le', 0))}"
    if code == "less_than":
        return f"Phải nhỏ hơn {_number(ctx.get('lt', 0))}"
    if code in ("int_parsing", "int_type", "int_from_float"):
        return "Phải là số nguyên, không có chữ (ví dụ 150000)"
    if code in ("float_parsing", "float_type"):
        return "Phải là một số (ví dụ 7 hoặc 0.5)"
    if code.startswith("url"):
        return "Đường link không hợp lệ: cần bắt đầu bằng http:// hoặc https://"
    if code.startswith("date") or code.startswith("datetime"):
        return "Ngày không hợp lệ (ví dụ 2025-07-01)"
    if code == "enum" and "[key]" in loc:
        return "Loại thông tin chưa xác minh không hợp lệ"
    if code == "enum":
        return "Giá trị không hợp lệ: hãy chọn trong danh sách"
    if code == "extra_forbidden":
        return "Mục này không có trong mẫu dữ liệu (viết sai tên trường?)"
    if code in ("string_type", "string_unicode"):
        return "Phải là chữ"
    if code == "list_type":
        return "Phải là một danh sách"
    if code in ("dict_type", "model_type", "model_attributes_type"):
        return "Phải là một nhóm trường (dạng tên: giá trị)"
    if code == "value_error" and last == "phone":
        return "Số điện thoại chỉ gồm chữ số, dấu cách, dấu chấm, dấu gạch ngang và +()"
    if code == "reference":
        return reference_message(str(ctx.get("kind", "")), str(ctx.get("field", "")),
                                 str(ctx.get("target", "")))
    if code == "id_mismatch":
        return f"Mã phải trùng với tên tệp «{ctx.get('expected', '')}»"
    if code == "yaml":
        where = f" (dòng {ctx['line']}, cột {ctx['column']})" if "line" in ctx else ""
        return f"Tệp không đúng cú pháp YAML{where}"
    if code == "not_a_list":
        return "Phải là một danh sách các mục"
    if code == "not_a_mapping":
        return ("Tệp phải có các phần city, procedures, offices, faqs "
                "(như tệp tải xuống từ trang này)")
    if code == "not_found":
        return "Không tìm thấy tệp"
    if code == "unreadable":
        return "Không đọc được tệp (cần mã hóa UTF-8)"
    if code == "value_error" and "error" in ctx:
        return f"Giá trị không hợp lệ ({ctx['error']})"
    return "Giá trị không hợp lệ"


def reference_message(kind: str, field: str, target: str) -> str:
    """A duplicate id or a reference to an entry that does not exist."""
    if field == "id":
        return f"Mã «{target}» bị trùng: hai {KIND_LABELS.get(kind, kind)} có cùng mã"
    if field == "offices":
        return f"Không có nơi tiếp nhận mã «{target}»"
    return f"Không có thủ tục mã «{target}»"


def describe(problem: Problem) -> str:
    """A problem in a knowledge file as one Vietnamese line: where, then what."""
    where = [f"Tệp {problem.file}"] if problem.file else []
    section = SECTION_LABELS.get(problem.section or "", problem.section or "")
    if problem.entry_id is not None:
        where.append(f"{section or 'mục'} «{problem.entry_id}»")
    elif problem.entry_index is not None:
        where.append(f"{section or 'mục'} thứ {problem.entry_index}")
    elif section:
        where.append(f"phần {section}")
    if problem.loc:
        dotted = ".".join(str(part) for part in problem.loc)
        where.append(f"trường {location_label(problem.loc)} ({dotted})")
    text = message(problem.code, problem.context, problem.loc)
    if problem.code == "extra_forbidden" and problem.section and not problem.loc:
        text = "Phần này không có trong mẫu (chỉ có city, procedures, offices, faqs)"
    return f"{' › '.join(where)}: {text}" if where else text
