#pragma once
// One connection to the admin listener (the <api> instance of the HTTP service): reads a request
// with its body (at most max_api_body), hands it to the api_handler and writes the answer; an
// event-stream answer keeps the connection open and writes events as they are pushed. Asio: only
// server.cpp and admin_connection.cpp include this.
#include <memory>

#include "http/handler.hpp"
#include "util/asio.hpp"

namespace diskless::http {

class admin_connection;

// Starts serving `s`; the connection keeps itself alive while it has work.
std::shared_ptr<admin_connection> start_admin_connection(asio::ip::tcp::socket s,
                                                         std::shared_ptr<api_handler> handler);
// Ends it now (server stop).
void close_admin_connection(admin_connection& c);

}  // namespace diskless::http
