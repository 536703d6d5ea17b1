import logging

from reminders.logs import RedactPhones


def test_phone_numbers_that_slip_into_a_log_line_are_masked():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "send to %s failed: %s", ("+254712345678", "0712 345 678"), None)
    assert RedactPhones().filter(record)
    assert record.getMessage() == "send to [phone] failed: [phone]"


def test_ids_and_short_numbers_are_left_alone():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "message=%s code=%s", (12345, 21610), None)
    RedactPhones().filter(record)
    assert record.getMessage() == "message=12345 code=21610"
